// effect.dat evaluation (SPEC 6) at connect and at MAIL FROM, plus the account checks that
// belong to MAIL FROM (SPEC 7). First matching line decides; an `only` line ends evaluation
// whether or not it matches, so every line after the first `only` is dead.
import type { ConfigSnapshot, EffectAction, EffectPattern, EffectRule, SourceRef } from '../config/types.js';
import { formatRef } from '../config/types.js';
import { ABUSE_TEXT, isSameOrSubdomain, normalizeDomain, parseAddress, type ParsedAddress } from './address.js';
import { formatMinutes, localAccountOf, sendingAccount, usetimeWindowAt } from './accounts.js';
import { inCidr, parseIp, type IpBytes } from './ip.js';
import { replies } from './replies.js';
import type { Decision, MailFromDecision, PolicySession, RelayStanding, SenderArg } from './types.js';

/** `effect.dat:7 192.168.*.* default` — how a rule is named in traces and explain. */
export function describeEffectRule(r: EffectRule): string {
  return `${formatRef(r.ref)} ${r.patternText}${r.implicitAction ? '' : ` ${r.action}`}`;
}

export function isClientPattern(p: EffectPattern): boolean {
  return p.kind === 'ipv4-wildcard' || p.kind === 'cidr' || p.kind === 'domain';
}

/** A `true` (or implicit) or a matched `only` standing: relay anywhere, no User unknown check. */
export function isTrusted(standing: RelayStanding): boolean {
  return standing.action === 'true' || standing.action === 'only';
}

/**
 * Whether relay to a domain that is neither local nor routed is allowed (SPEC 6 actions).
 * `norelay` without a number is `norelay,0`: the old products' plain `norelay` meant "local
 * recipients only", and reading it the strict way can never open a relay.
 */
export function relayPermission(standing: RelayStanding, authenticated: boolean): { allowed: boolean; why: string } {
  switch (standing.action) {
    case 'true':
    case 'only':
      return { allowed: true, why: `standing ${standing.action}` };
    case 'default':
    case 'norelay,2':
      return authenticated
        ? { allowed: true, why: `standing ${standing.action}, authenticated` }
        : { allowed: false, why: `standing ${standing.action}, not authenticated` };
    case 'norelay':
    case 'norelay,0':
      return { allowed: false, why: `standing ${standing.action}: relay refused even after AUTH` };
    case 'false':
      return { allowed: false, why: 'standing false' };
  }
}

function clientIp(session: PolicySession): IpBytes | null {
  return parseIp(session.clientIp);
}

/** Client patterns: IPv4 wildcard, CIDR / single address, forward-confirmed domain. */
export function matchClient(p: EffectPattern, ip: IpBytes | null, clientHostname: string): boolean {
  switch (p.kind) {
    case 'ipv4-wildcard':
      return !!ip && ip.family === 4 && p.octets.every((o, i) => o === '*' || o === ip.bytes[i]);
    case 'cidr':
      return !!ip && inCidr(ip, p.family, p.address, p.prefix);
    case 'domain':
      // Only the forward-confirmed name (empty when the PTR did not confirm), so a spammer
      // cannot claim a trusted domain through a PTR record of their own.
      return clientHostname !== '' && isSameOrSubdomain(clientHostname, p.domain);
    default:
      return false;
  }
}

/** Sender patterns: `user@dom` / `*@dom` case-insensitively, `#<>`, `#blank`. */
export function matchSender(p: EffectPattern, sender: SenderArg, parsed: ParsedAddress | undefined): boolean {
  switch (p.kind) {
    case 'null-sender':
      return sender.kind === 'null';
    case 'blank-sender':
      return sender.kind === 'blank';
    case 'sender': {
      if (!parsed || parsed.error) return false;
      if (normalizeDomain(p.domain) !== parsed.domain) return false;
      return p.local === '*' || p.local.toLowerCase() === parsed.localKey;
    }
    default:
      return false;
  }
}

/**
 * At connect: only IP/domain lines are looked at; the first that matches decides whether the
 * connection is refused. Evaluation stops at the first `only` line of any kind, because the
 * lines after it are dead (a `false` after an `only` never refuses anything).
 */
export function evaluateConnect(snap: ConfigSnapshot, session: PolicySession): Decision {
  const ip = clientIp(session);
  const host = normalizeDomain(session.clientHostname);
  const trace: string[] = [];
  if (!ip) trace.push(`client address ${JSON.stringify(session.clientIp)} is not an IP address: no IP pattern can match`);
  for (const r of snap.effect) {
    if (!isClientPattern(r.pattern)) {
      if (r.action === 'only') {
        trace.push(`${describeEffectRule(r)}: a sender \`only\` line; lines after it are dead, decided at MAIL FROM`);
        return { accept: true, reason: `not refused (${formatRef(r.ref)} only is decided at MAIL FROM)`, trace };
      }
      continue;
    }
    const hit = matchClient(r.pattern, ip, host);
    if (!hit) {
      if (r.action === 'only') {
        trace.push(`${describeEffectRule(r)}: no match; evaluation ends at an only line`);
        return { accept: true, rule: r.ref, reason: `not refused (${describeEffectRule(r)} did not match; evaluation ends there)`, trace };
      }
      continue;
    }
    trace.push(`${describeEffectRule(r)}: matches client ${session.clientIp}${host ? ` (${host})` : ''}`);
    if (r.action === 'false') {
      return { accept: false, reply: replies.connectRefused(), rule: r.ref, reason: `refused by ${describeEffectRule(r)}`, trace };
    }
    return { accept: true, rule: r.ref, reason: describeEffectRule(r), trace };
  }
  trace.push('no effect.dat IP/domain line matched');
  return { accept: true, reason: 'no effect.dat line matched', trace };
}

interface StandingResult {
  standing: RelayStanding;
  /** The line that decided (also the non-matching `only` that ended evaluation). */
  rule?: EffectRule;
  reason: string;
}

function effectStanding(snap: ConfigSnapshot, session: PolicySession, sender: SenderArg, parsed: ParsedAddress | undefined, trace: string[]): StandingResult {
  const ip = clientIp(session);
  const host = normalizeDomain(session.clientHostname);
  for (const r of snap.effect) {
    const hit = isClientPattern(r.pattern) ? matchClient(r.pattern, ip, host) : matchSender(r.pattern, sender, parsed);
    if (!hit) {
      if (r.action === 'only') {
        trace.push(`${describeEffectRule(r)}: no match; evaluation ends at an only line -> built-in default`);
        return { standing: { action: 'default' }, rule: r, reason: `${describeEffectRule(r)} did not match; evaluation ends there` };
      }
      continue;
    }
    trace.push(`${describeEffectRule(r)}: matches`);
    return { standing: { action: r.action, rule: r.ref }, rule: r, reason: describeEffectRule(r) };
  }
  trace.push('no effect.dat line matched -> built-in default');
  return { standing: { action: 'default' }, reason: 'no effect.dat line matched' };
}

function senderText(sender: SenderArg): string {
  if (sender.kind === 'null') return '<>';
  if (sender.kind === 'blank') return '(blank)';
  return `<${sender.address}>`;
}

/**
 * At MAIL FROM: the whole list, both kinds of pattern, first match decides the standing; then
 * the account rules of SPEC 7 (AUTH for account senders, $offsmtp, usetime.dat).
 */
export function evaluateMailFrom(snap: ConfigSnapshot, session: PolicySession, sender: SenderArg): MailFromDecision {
  const trace: string[] = [];
  const parsed = sender.kind === 'address' ? parseAddress(sender.address) : undefined;
  if (parsed?.error) {
    trace.push(`MAIL FROM ${senderText(sender)}: ${parsed.error}`);
    return {
      accept: false,
      reply: replies.badSender(parsed.raw),
      reason: `bad sender address: ${parsed.error}`,
      trace,
      standing: { action: 'default' },
    };
  }
  if (parsed?.abuse) trace.push(`sender uses a relay form (${ABUSE_TEXT[parsed.abuse]}); that alone grants nothing`);
  const { standing, rule, reason } = effectStanding(snap, session, sender, parsed, trace);
  const refuse = (reply: Decision['reply'], why: string, ref?: SourceRef): MailFromDecision => ({
    accept: false,
    reply,
    rule: ref,
    reason: why,
    trace,
    standing,
  });

  if (standing.action === 'false' && rule) {
    const reply = isClientPattern(rule.pattern) ? replies.connectRefused() : replies.senderRefused();
    return refuse(reply, `refused by ${describeEffectRule(rule)}`, rule.ref);
  }

  // SPEC 7: a MAIL FROM naming a local account with a password needs AUTH as that account,
  // unless a true/only rule trusts the client. This is what keeps postmaster@ from being spoofed.
  const account = parsed ? localAccountOf(snap, parsed) : undefined;
  if (account) trace.push(`sender <${parsed!.address}> is local account ${account.user}${account.password ? ' (has a password)' : ' (no password)'}`);
  if (account && account.password && snap.settings.auth.accountSendersNeedAuth) {
    const authUser = session.authUser.toLowerCase();
    if (authUser === account.user) {
      trace.push(`authenticated as ${account.user}: account sender allowed`);
    } else if (isTrusted(standing)) {
      trace.push(`trusted by ${reason}: account sender allowed without AUTH`);
    } else {
      const why = authUser
        ? `sender is local account ${account.user} but the session authenticated as ${authUser}`
        : `sender is local account ${account.user}, which has a password: AUTH required (auth.accountSendersNeedAuth)`;
      return refuse(replies.authRequired(parsed!.raw), why);
    }
  }

  const sending = sendingAccount(snap, session, sender);
  if (sending) {
    const { account: a, via } = sending;
    if (a.sendingDisabled) {
      trace.push(`account ${a.user} (${via === 'auth' ? 'authenticated' : 'MAIL FROM'}) has $offsmtp`);
      return refuse(replies.sendingDisabled(a.user), `sending disabled for account ${a.user} (inbox/${a.user}/$offsmtp)`);
    }
    if (a.usetime.length) {
      const w = usetimeWindowAt(a.usetime, session.now);
      const at = `${formatMinutes(session.now.getHours() * 60 + session.now.getMinutes())}`;
      if (!w) {
        trace.push(`account ${a.user}: ${at} is outside every usetime.dat window`);
        return refuse(replies.outsideUsetime(a.user), `outside the sending hours of account ${a.user} (usetime.dat, now ${at})`, a.usetime[0].ref);
      }
      trace.push(`account ${a.user}: ${at} inside ${formatRef(w.ref)} ${formatMinutes(w.start)}-${formatMinutes(w.end)}`);
    }
  }

  return {
    accept: true,
    rule: standing.rule,
    reason: `standing ${standing.action} (${reason})`,
    trace,
    standing,
  };
}

/** Whether `text` is an IPv4 or IPv6 address (the CLI checks `--client` with it). */
export function isIpAddress(text: string): boolean {
  return parseIp(text) !== null;
}
