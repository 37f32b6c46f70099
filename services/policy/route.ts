// gateway.dat routing (SPEC 4): which next hops a domain's mail goes to, in the order to try.
import type { ConfigSnapshot, GatewayRule } from '../config/types.js';
import { formatRef } from '../config/types.js';
import { normalizeDomain } from './address.js';
import { lookupOf } from './lookup.js';
import type { Route } from './types.js';

/** `host:port`, IPv6 in brackets (`[2001:db8::1]:25`). */
export function formatHostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/**
 * gateway.dat lines for a domain: every exact line (file order) if there is one; else the
 * `*.suffix` lines of the most specific matching suffix (file order). A less specific `*.`
 * line is not a fallback for a more specific one: that would hand a branch's mail to another
 * site's server whenever the branch is down.
 */
export function gatewayLinesFor(snap: ConfigSnapshot, domain: string): GatewayRule[] {
  const d = normalizeDomain(domain);
  if (!d) return [];
  const l = lookupOf(snap);
  const exact = l.gatewayExact.get(d);
  if (exact) return exact;
  // Walk the parent domains from the longest: a.b.branch.jp tries b.branch.jp, branch.jp, jp.
  for (let dot = d.indexOf('.'); dot >= 0; dot = d.indexOf('.', dot + 1)) {
    const lines = l.gatewayWildcard.get(d.slice(dot + 1));
    if (lines) return lines;
  }
  return [];
}

/** Whether gateway.dat routes the domain (exact or `*.` match): such a domain is not relay. */
export function isRoutedDomain(snap: ConfigSnapshot, domain: string): boolean {
  return gatewayLinesFor(snap, domain).length > 0;
}

/** `host`, `host:port`, `[v6]`, `[v6]:port`; a bare IPv6 address has no port. */
export function parseSmarthost(text: string, defaultPort: number): { host: string; port: number } | null {
  const s = text.trim();
  if (!s) return null;
  let m = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (m) return { host: m[1], port: m[2] ? Number(m[2]) : defaultPort };
  m = /^([^:]+):(\d+)$/.exec(s);
  if (m) return { host: m[1], port: Number(m[2]) };
  return { host: s, port: defaultPort };
}

/**
 * The route for a domain: gateway.dat, else the smarthost, else DNS MX. Loops (a hop that is
 * this gateway) are found by configWarnings and by delivery at connect time, not here.
 */
export function lookupRoute(snap: ConfigSnapshot, domain: string): { route: Route; trace: string[] } {
  const d = normalizeDomain(domain);
  const lines = gatewayLinesFor(snap, d);
  if (lines.length) {
    const hops = lines.map((g) => ({ host: g.host, port: g.port, rule: g.ref }));
    const list = hops.map((h) => `${formatRef(h.rule)} ${formatHostPort(h.host, h.port)}`).join(', ');
    return { route: { kind: 'gateway', hops }, trace: [`route ${d} -> ${list}`] };
  }
  const smart = parseSmarthost(snap.settings.delivery.smarthost, snap.settings.delivery.outboundPort);
  if (smart) {
    return {
      route: { kind: 'smarthost', host: smart.host, port: smart.port },
      trace: [`route ${d} -> smarthost ${formatHostPort(smart.host, smart.port)} (settings.json delivery.smarthost; no gateway.dat line)`],
    };
  }
  return { route: { kind: 'mx', domain: d }, trace: [`route ${d} -> DNS MX of ${d} (no gateway.dat line, no smarthost)`] };
}
