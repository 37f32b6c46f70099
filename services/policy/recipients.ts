// RCPT TO (SPEC 5, 6, 7): relay-abuse forms, the recipient whitelist (accounts and aliases,
// `550 5.1.1 User unknown` at RCPT time so no backscatter is ever produced), relay permission,
// and sender.dat of the sending account. Returns where the recipient goes.
import type { AliasRule, ConfigSnapshot, MailboxPattern, SourceRef } from '../config/types.js';
import { formatRef } from '../config/types.js';
import { ABUSE_TEXT, parseAddress, type ParsedAddress } from './address.js';
import { isLocalDomain, sendingAccount, senderRuleFor } from './accounts.js';
import { isTrusted, relayPermission } from './effect.js';
import { replies } from './replies.js';
import { isRoutedDomain } from './route.js';
import { lookupOf } from './lookup.js';
import type { PolicySession, RcptDecision, RecipientTarget, RelayStanding, SenderArg } from './types.js';

export function formatMailbox(m: MailboxPattern): string {
  return `${m.local}@${m.domain}`;
}

/** `aliases.dat:3 sales@test.jp -> bucho@test.jp, kacho@test.jp` */
export function describeAlias(a: AliasRule): string {
  return `${formatRef(a.ref)} ${formatMailbox(a.alias)} -> ${a.targets.map(formatMailbox).join(', ')}`;
}

/** Exact alias (local part compared without quotes and case) for the recipient. */
export function findExactAlias(snap: ConfigSnapshot, rcpt: ParsedAddress): AliasRule | undefined {
  return lookupOf(snap).exactAliases.get(`${rcpt.localKey}@${rcpt.domain}`);
}

export function findWildcardAlias(snap: ConfigSnapshot, rcpt: ParsedAddress): AliasRule | undefined {
  return lookupOf(snap).wildcardAliases.get(rcpt.domain);
}

/**
 * One target: a local account in a local domain is delivered into inbox/<user>/ when
 * delivery.forwardAll is off (SPEC 4); everything else is forwarded.
 */
function target(snap: ConfigSnapshot, local: string, domain: string): RecipientTarget {
  const address = `${local}@${domain}`;
  const user = local.replace(/^"(.*)"$/, '$1').toLowerCase();
  if (!snap.settings.delivery.forwardAll && isLocalDomain(snap, domain) && snap.accounts.has(user)) {
    return { kind: 'local', user, address };
  }
  return { kind: 'remote', address };
}

/** Aliases are expanded one level: a `*` target local part is the recipient's own (as written). */
function expand(snap: ConfigSnapshot, alias: AliasRule, rcpt: ParsedAddress): RecipientTarget[] {
  return alias.targets.map((t) => target(snap, t.local === '*' ? rcpt.local : t.local, t.domain));
}

function describeTargets(ts: RecipientTarget[]): string {
  return ts.map((t) => (t.kind === 'local' ? `${t.address} (local inbox/${t.user}/)` : t.address)).join(', ');
}

export function evaluateRcpt(
  snap: ConfigSnapshot,
  session: PolicySession,
  standing: RelayStanding,
  sender: SenderArg,
  rcpt: string,
): RcptDecision {
  const trace: string[] = [];
  const addr = parseAddress(rcpt);
  const refuse = (reply: RcptDecision['reply'], reason: string, rule?: SourceRef): RcptDecision => ({
    accept: false,
    reply,
    rule,
    reason,
    trace,
    targets: [],
  });
  // RFC 5321 4.5.1: `RCPT TO:<Postmaster>` without a domain must be accepted; it is read as
  // postmaster at the first local domain, and the whitelist below still applies to it.
  if (!addr.error && addr.domain === '' && !addr.abuse && addr.localKey === 'postmaster' && snap.domains.length) {
    const d = snap.domains[0].domain.toLowerCase();
    addr.domain = d;
    addr.address = `${addr.local}@${d}`;
    trace.push(`<${addr.raw}> without a domain read as ${addr.address} (RFC 5321 4.5.1; first line of domains.dat)`);
  }
  if (addr.error || addr.domain === '') return refuse(replies.badRecipient(addr.raw), `bad recipient address: ${addr.error ?? 'no domain'}`);

  const trusted = isTrusted(standing);
  const standingText = `standing ${standing.action}${standing.rule ? ` ${formatRef(standing.rule)}` : ''}`;
  if (addr.trailingDot) trace.push(`domain written with a trailing dot; matched as ${addr.domain}`);

  // SPEC 6: relay forms are never relayed unless trusted, whatever the domain — an alias
  // (even a wildcard) must not turn `user%ext@local` into a relay through the inner server.
  if (addr.abuse) {
    if (!trusted) {
      return refuse(replies.relayDenied(addr.raw), `${ABUSE_TEXT[addr.abuse]}: never relayed unless trusted (${standingText})`, standing.rule);
    }
    trace.push(`${ABUSE_TEXT[addr.abuse]}: allowed, ${standingText}`);
    return accept(snap, session, sender, addr, [{ kind: 'remote', address: addr.raw }], `trusted (${standingText}); relay form passed as written`, standing.rule, trace);
  }

  const local = isLocalDomain(snap, addr.domain);
  const routed = isRoutedDomain(snap, addr.domain);
  if (local || routed) {
    trace.push(`${addr.domain} is ${local ? 'a local domain (domains.dat)' : 'routed by gateway.dat'}`);
    // Exact alias first (the admin wrote it for this address), then a local account, then the
    // domain wildcard (the most general rule last).
    const exact = findExactAlias(snap, addr);
    if (exact) {
      const ts = expand(snap, exact, addr);
      trace.push(`alias ${describeAlias(exact)}`);
      return accept(snap, session, sender, addr, ts, `alias ${describeAlias(exact)}`, exact.ref, trace);
    }
    const account = local ? snap.accounts.get(addr.localKey) : undefined;
    if (account) {
      const t = target(snap, addr.local, addr.domain);
      trace.push(`local account ${account.user} (inbox/${account.user}/)`);
      return accept(snap, session, sender, addr, [t], `local account ${account.user}`, undefined, trace);
    }
    const wild = findWildcardAlias(snap, addr);
    if (wild) {
      const ts = expand(snap, wild, addr);
      trace.push(`wildcard alias ${describeAlias(wild)}`);
      return accept(snap, session, sender, addr, ts, `wildcard alias ${describeAlias(wild)}`, wild.ref, trace);
    }
    if (trusted) {
      trace.push(`no account or alias; User unknown check skipped (${standingText})`);
      return accept(snap, session, sender, addr, [target(snap, addr.local, addr.domain)], `no account or alias, trusted (${standingText})`, standing.rule, trace);
    }
    return refuse(replies.userUnknown(addr.raw), `no local account or alias for ${addr.address}`);
  }

  // Neither local nor routed: relay. A sender in a local domain never grants it by itself.
  const perm = relayPermission(standing, session.authUser !== '');
  if (!perm.allowed) {
    trace.push(`${addr.domain} is neither local nor routed: relay refused (${perm.why})`);
    return refuse(replies.relayDenied(addr.raw), `relay refused: ${perm.why}`, standing.rule);
  }
  trace.push(`${addr.domain} is neither local nor routed: relay allowed (${perm.why})`);
  return accept(snap, session, sender, addr, [{ kind: 'remote', address: addr.address }], `relay allowed: ${perm.why}`, standing.rule, trace);
}

/** The last gate: sender.dat of the sending account may forbid this destination (first match). */
function accept(
  snap: ConfigSnapshot,
  session: PolicySession,
  sender: SenderArg,
  addr: ParsedAddress,
  targets: RecipientTarget[],
  reason: string,
  rule: SourceRef | undefined,
  trace: string[],
): RcptDecision {
  const sending = sendingAccount(snap, session, sender);
  if (sending && sending.account.senderRules.length) {
    const r = senderRuleFor(sending.account, addr);
    if (r && !r.allow) {
      trace.push(`${formatRef(r.ref)} ${r.pattern},-1 forbids ${addr.address} for account ${sending.account.user}`);
      return {
        accept: false,
        reply: replies.destinationForbidden(addr.raw, sending.account.user),
        rule: r.ref,
        reason: `destination forbidden for account ${sending.account.user} by ${formatRef(r.ref)} ${r.pattern},-1`,
        trace,
        targets: [],
      };
    }
    trace.push(r ? `${formatRef(r.ref)} ${r.pattern},0 allows ${addr.address}` : `no sender.dat line of ${sending.account.user} matches ${addr.address}: allowed`);
  }
  trace.push(`-> ${describeTargets(targets)}`);
  return { accept: true, rule, reason, trace, targets };
}
