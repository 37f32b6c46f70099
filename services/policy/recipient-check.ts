// Recipient verification (SPEC 5, issue 15), the pure part: which accepted recipients are to be
// asked of the internal server, where (the gateway.dat hops of the target's domain, in file
// order, as delivery tries them), and how an answer reads in the trace, the receive log and
// `explain`. The asking itself is services/receiver/recipient-check/.
import type { ConfigSnapshot, Diagnostic } from '../config/types.js';
import { normalizeDomain, parseAddress } from './address.js';
import { isTrusted } from './effect.js';
import { formatHostPort, gatewayLinesFor } from './route.js';
import type { PolicySession, RecipientTarget, RelayStanding, Route } from './types.js';

export type CheckHop = Extract<Route, { kind: 'gateway' }>['hops'][number];

/** One address to ask and the hops to ask it of. */
export interface CheckItem {
  /** The delivery target (after alias expansion), as it will be written in RCPT TO. */
  address: string;
  domain: string;
  hops: CheckHop[];
}

export interface CheckPlan {
  items: CheckItem[];
  /** Why nothing is asked, or what was left out (for the trace); empty when nothing to say. */
  notes: string[];
}

/** An answer as the cache holds it (services/config/recipient-cache.ts has the same shape). */
export interface CheckAnswer {
  answer: 'exists' | 'unknown';
  /** When the internal server gave it (ms since the epoch). */
  at: number;
  /** `host:port` that answered. */
  host: string;
  /** The internal server's reply line. */
  reply: string;
}

function domainListed(list: string[], domain: string): boolean {
  for (const raw of list) {
    const e = normalizeDomain(raw.trim());
    if (!e) continue;
    if (e.startsWith('*.')) {
      if (domain.endsWith(e.slice(1))) return true;
    } else if (e === domain) {
      return true;
    }
  }
  return false;
}

/** Is verification switched on for the domain (listed, or every routed domain)? */
export function isCheckedDomain(snap: ConfigSnapshot, domain: string): boolean {
  const rc = snap.settings.recipientCheck;
  const d = normalizeDomain(domain);
  if (!d) return false;
  if (domainListed(rc.domains, d)) return true;
  return rc.allRoutedDomains && gatewayLinesFor(snap, d).length > 0;
}

/**
 * What to ask for an accepted recipient. Trusted clients (`true`, `only`) and authenticated
 * senders are not verified (SPEC 5): they are ours, and what they send to an unknown address
 * bounces to them, not to a forged stranger. Local deliveries (inbox/) need no asking.
 */
export function recipientCheckPlan(
  snap: ConfigSnapshot,
  session: PolicySession,
  standing: RelayStanding,
  targets: RecipientTarget[],
): CheckPlan {
  const rc = snap.settings.recipientCheck;
  if (!rc.domains.length && !rc.allRoutedDomains) return { items: [], notes: [] };
  const items: CheckItem[] = [];
  const notes: string[] = [];
  for (const t of targets) {
    if (t.kind !== 'remote') continue;
    const domain = parseAddress(t.address).domain;
    if (!domain || !isCheckedDomain(snap, domain)) continue;
    if (isTrusted(standing)) {
      notes.push(`recipient verification skipped for <${t.address}>: trusted client (standing ${standing.action})`);
      continue;
    }
    if (session.authUser) {
      notes.push(`recipient verification skipped for <${t.address}>: authenticated as ${session.authUser}`);
      continue;
    }
    const lines = gatewayLinesFor(snap, domain);
    if (!lines.length) {
      notes.push(`recipient verification of ${domain} is on, but gateway.dat has no route for it: <${t.address}> not verified`);
      continue;
    }
    if (items.some((i) => i.address.toLowerCase() === t.address.toLowerCase())) continue;
    items.push({ address: t.address, domain, hops: lines.map((g) => ({ host: g.host, port: g.port, rule: g.ref })) });
  }
  return { items, notes };
}

/** `12 min ago`, `3 h ago`, `2 days ago`, `just now`. */
export function agoText(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return s < 5 ? 'just now' : `${s} s ago`;
  const m = Math.round(s / 60);
  if (m < 120) return `${m} min ago`;
  const h = Math.round(m / 60);
  if (h < 48) return `${h} h ago`;
  return `${Math.round(h / 24)} days ago`;
}

/**
 * `verified by 192.168.0.10:25 (cached 12 min ago)` / `refused by 192.168.0.10:25: 550 5.1.1 …
 * (asked now)`: one line for the trace, the receive log and explain.
 */
export function describeCheck(a: CheckAnswer, cached: boolean, now = Date.now()): string {
  const when = cached ? `cached ${agoText(now - a.at)}` : 'asked now';
  return a.answer === 'exists' ? `verified by ${a.host} (${when})` : `refused by ${a.host}: ${a.reply} (${when})`;
}

/** The hops of an item as `192.168.0.10:25, 192.168.0.11:25`. */
export function hopsText(hops: CheckHop[]): string {
  return hops.map((h) => formatHostPort(h.host, h.port)).join(', ');
}

/**
 * `sekisho check` / the app (SPEC 5): verification switched on for a domain gateway.dat does not
 * route — there is no internal server to ask, so its recipients are not verified. (Whether the
 * internal server really refuses unknown users cannot be seen from here: docs/guide.md.)
 */
export function recipientCheckWarnings(snap: ConfigSnapshot): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const raw of snap.settings.recipientCheck.domains) {
    const d = normalizeDomain(raw.trim());
    if (!d) continue;
    const routed = d.startsWith('*.')
      ? snap.gateway.some((g) => normalizeDomain(g.domain) === d || normalizeDomain(g.domain).endsWith(d.slice(1)))
      : gatewayLinesFor(snap, d).length > 0;
    if (routed) continue;
    out.push({
      file: 'settings.json',
      line: 0,
      column: 0,
      severity: 'warning',
      code: 'recipient-check.no-route',
      message: `recipientCheck.domains lists ${d}, but gateway.dat has no route for it: there is no internal server to ask, so its recipients are not verified`,
    });
  }
  return out;
}
