// Configuration warnings the app shows next to the rules (SPEC 4, 5, 6): nothing here stops a
// file from being applied, each names the line and why it is risky.
import type { ConfigSnapshot, Diagnostic, EffectRule, SourceRef } from '../config/types.js';
import { normalizeDomain } from './address.js';
import { isLoopbackOrUnspecified, parseIp } from './ip.js';
import { formatHostPort, parseSmarthost } from './route.js';
import { formatMailbox } from './recipients.js';
import { lookupOf } from './lookup.js';
import { recipientCheckWarnings } from './recipient-check.js';

function warn(ref: SourceRef | { file: string; line: number }, code: string, message: string): Diagnostic {
  return { file: ref.file, line: ref.line, column: 0, severity: 'warning', code, message };
}

/** A pattern that matches more than one host (or anyone able to write a MAIL FROM). */
function widerThanOneHost(r: EffectRule): string | null {
  const p = r.pattern;
  switch (p.kind) {
    case 'ipv4-wildcard':
      return p.octets.includes('*') ? 'a wildcard address range' : null;
    case 'cidr':
      return p.prefix < (p.family === 4 ? 32 : 128) ? `a /${p.prefix} block` : null;
    case 'domain':
      return `every host whose name ends in ${p.domain}`;
    case 'sender':
      return 'an envelope sender, which anyone can forge';
    case 'null-sender':
      return 'the null sender <>, which anyone can use';
    case 'blank-sender':
      return 'the blank sender, which anyone can use';
  }
}

function effectWarnings(snap: ConfigSnapshot): Diagnostic[] {
  const out: Diagnostic[] = [];
  let firstOnly: EffectRule | undefined;
  let nullSenderLine: EffectRule | undefined;
  let sawNullSender = false;
  for (const r of snap.effect) {
    if (firstOnly) {
      out.push(warn(r.ref, 'effect.dead-after-only', `dead rule: evaluation ends at the only line ${firstOnly.ref.file}:${firstOnly.ref.line}, so this line is never used`));
    }
    if (r.action === 'true' || r.action === 'only') {
      const wide = widerThanOneHost(r);
      if (wide) {
        const action = r.implicitAction ? 'no action (= true)' : r.action;
        out.push(
          warn(r.ref, 'effect.dangerous-true', `"${r.patternText}" with ${action} trusts ${wide}: relay anywhere without AUTH and without the User unknown check`),
        );
      }
    }
    if (!firstOnly && (r.action === 'true' || r.action === 'only') && isClientPattern(r) && nullSenderLine) {
      const n = nullSenderLine;
      out.push(
        warn(
          r.ref,
          'effect.null-sender-first',
          `bounces and auto-replies (MAIL FROM:<>) from ${r.patternText} match ${n.ref.file}:${n.ref.line} "${n.patternText} ${n.action}" first, so they are not trusted and their relay is refused: move this line above it`,
        ),
      );
    }
    // First match decides at MAIL FROM (SPEC 6): a `#<>` line that does not trust shadows every
    // trusted host line below it for the null sender (the internal server's bounces).
    // Only the first #<> line can decide for the null sender; if it trusts, none below matters.
    if (!sawNullSender && r.pattern.kind === 'null-sender') {
      sawNullSender = true;
      if (r.action !== 'true' && r.action !== 'only') nullSenderLine = r;
    }
    if (r.action === 'only' && !firstOnly) firstOnly = r;
  }
  return out;
}

function isClientPattern(r: EffectRule): boolean {
  return r.pattern.kind === 'cidr' || r.pattern.kind === 'ipv4-wildcard' || r.pattern.kind === 'domain';
}

function aliasWarnings(snap: ConfigSnapshot): Diagnostic[] {
  return snap.aliases
    .filter((a) => a.alias.local === '*')
    .map((a) =>
      warn(
        a.ref,
        'alias.wildcard',
        `${formatMailbox(a.alias)} accepts every address of ${a.alias.domain} (mode A): spam to made-up names is accepted and passed on; list one alias per real account (mode B) instead`,
      ),
    );
}

/**
 * RFC 5321 4.5.1: every domain a server accepts mail for must accept postmaster. With the
 * whitelist of SPEC 5 that only holds if an account, an alias or a wildcard covers it.
 */
function postmasterWarnings(snap: ConfigSnapshot): Diagnostic[] {
  const l = lookupOf(snap);
  const account = snap.accounts.has('postmaster');
  return snap.domains
    .filter((d) => {
      const domain = normalizeDomain(d.domain);
      return !account && !l.exactAliases.has(`postmaster@${domain}`) && !l.wildcardAliases.has(domain);
    })
    .map((d) =>
      warn(
        d.ref,
        'domains.no-postmaster',
        `postmaster@${normalizeDomain(d.domain)} is neither an account nor an alias, so mail to it is refused as User unknown (RFC 5321 4.5.1 requires it); add an alias or the postmaster account`,
      ),
    );
}

/** Whether `host` names this gateway: its hostname, localhost, loopback, or one of its addresses. */
function isThisGateway(host: string, snap: ConfigSnapshot, own: Set<string>): boolean {
  const h = normalizeDomain(host.replace(/^\[(.*)\]$/, '$1'));
  if (h === normalizeDomain(snap.settings.hostname) || h === 'localhost' || h.endsWith('.localhost')) return true;
  const ip = parseIp(h);
  if (ip && isLoopbackOrUnspecified(ip)) return true;
  if (own.has(h)) return true;
  const bind = snap.settings.receiver.bind;
  return bind !== '' && bind !== '0.0.0.0' && bind !== '::' && normalizeDomain(bind) === h;
}

function ownSet(ownAddresses: string[]): Set<string> {
  const s = new Set<string>();
  for (const a of ownAddresses) {
    const t = normalizeDomain(a.replace(/^\[(.*)\]$/, '$1'));
    s.add(t);
    const ip = parseIp(t);
    // Compare IPs in one spelling: `::ffff:10.0.0.1` is 10.0.0.1.
    if (ip) s.add(ip.family === 4 ? ip.bytes.join('.') : t);
  }
  return s;
}

function routingWarnings(snap: ConfigSnapshot, ownAddresses: string[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  const own = ownSet(ownAddresses);
  const ports = new Set(snap.settings.receiver.ports);
  for (const g of snap.gateway) {
    if (ports.has(g.port) && isThisGateway(g.host, snap, own)) {
      out.push(
        warn(g.ref, 'gateway.self-loop', `${g.domain} routes to ${formatHostPort(g.host, g.port)}, which is this gateway's own receiver: mail would loop back here`),
      );
    }
  }
  const smart = parseSmarthost(snap.settings.delivery.smarthost, snap.settings.delivery.outboundPort);
  if (smart) {
    const sh = normalizeDomain(smart.host);
    const hop = snap.gateway.find((g) => normalizeDomain(g.host) === sh);
    if (hop) {
      out.push(
        warn(
          { file: 'settings.json', line: 0 },
          'settings.smarthost-pingpong',
          `delivery.smarthost ${formatHostPort(smart.host, smart.port)} is also a gateway.dat next hop (${hop.ref.file}:${hop.ref.line} ${hop.domain}): if that server uses this box as its smarthost, mail for unknown domains bounces between the two`,
        ),
      );
    }
    if (ports.has(smart.port) && isThisGateway(smart.host, snap, own)) {
      out.push(warn({ file: 'settings.json', line: 0 }, 'settings.smarthost-self-loop', `delivery.smarthost ${formatHostPort(smart.host, smart.port)} is this gateway itself: every routed message would loop back here`));
    }
  }
  return out;
}

/**
 * Every warning of the current configuration, in file order per file. `ownAddresses` are this
 * machine's interface addresses (the caller knows them; policy does no I/O).
 */
export function configWarnings(snap: ConfigSnapshot, opts: { ownAddresses?: string[] } = {}): Diagnostic[] {
  return [...effectWarnings(snap), ...aliasWarnings(snap), ...postmasterWarnings(snap), ...routingWarnings(snap, opts.ownAddresses ?? []), ...recipientCheckWarnings(snap)];
}
