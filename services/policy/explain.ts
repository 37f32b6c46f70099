// The policy tester (SPEC 9 `sekisho explain`, SPEC 11 "Policy tester"): one imaginary SMTP
// session run through the same functions the receiver calls, reported line by line with the
// file:line that decided each step.
import type { ConfigSnapshot } from '../config/types.js';
import { formatRef } from '../config/types.js';
import { parseAddress } from './address.js';
import { evaluateConnect, evaluateMailFrom } from './effect.js';
import { formatIp, parseIp } from './ip.js';
import { evaluateRcpt } from './recipients.js';
import { formatReply } from './replies.js';
import { lookupRoute } from './route.js';
import { describeCheck, hopsText, recipientCheckPlan, type CheckAnswer } from './recipient-check.js';
import { replies } from './replies.js';
import type { Decision, ExplainRequest, ExplainResult, PolicySession, RecipientTarget, SenderArg } from './types.js';

export interface ExplainOptions {
  /** The time to decide at (usetime.dat); default now. */
  now?: Date;
  /** The client's forward-confirmed reverse-DNS name, for domain patterns; default none. */
  clientHostname?: string;
  /** Add every look-up (the trace) under each line of `text`. */
  verbose?: boolean;
  /**
   * Recipient verification (SPEC 5): the cached answer for an address (verify-cache.json, read
   * by the caller). explain never asks the internal server itself — it is a pure "what would
   * happen" — so an address without a fresh cached answer is reported as "would be asked".
   */
  recipientCheck?: (address: string) => CheckAnswer | undefined;
}

/** `''` and `<>`: the null sender; `#blank`: `MAIL FROM:` with an empty argument. */
export function senderArgFrom(from: string): SenderArg {
  const f = from.trim();
  if (f === '' || f === '<>') return { kind: 'null' };
  if (f.toLowerCase() === '#blank') return { kind: 'blank' };
  return { kind: 'address', address: f.replace(/^<(.*)>$/, '$1') };
}

function senderText(s: SenderArg): string {
  if (s.kind === 'null') return 'MAIL FROM:<>';
  if (s.kind === 'blank') return 'MAIL FROM: (blank)';
  return `MAIL FROM:<${s.address}>`;
}

function summary(d: Decision) {
  return {
    accept: d.accept,
    ...(d.reply ? { reply: formatReply(d.reply) } : {}),
    ...(d.rule ? { rule: formatRef(d.rule) } : {}),
    reason: d.reason,
  };
}

function routeOf(snap: ConfigSnapshot, t: RecipientTarget): string {
  if (t.kind === 'local') return `local delivery ${t.address} -> inbox/${t.user}/`;
  const domain = parseAddress(t.address).domain;
  return lookupRoute(snap, domain).trace.join('; ');
}

export function explain(snap: ConfigSnapshot, req: ExplainRequest, opts: ExplainOptions = {}): ExplainResult {
  const text: string[] = [];
  const detail = (trace: string[]) => {
    if (opts.verbose) for (const t of trace) text.push(`    ${t}`);
  };
  const ip = parseIp(req.client);
  const clientIp = ip ? formatIp(ip) : req.client.trim();

  // `--auth USER` is "as if authenticated as USER": only possible for an existing account
  // while AUTH is enabled, so anything else is reported and treated as not authenticated.
  let authUser = '';
  const wanted = (req.auth ?? '').trim().toLowerCase();
  const authNote: string[] = [];
  if (wanted) {
    if (!snap.settings.auth.enabled) authNote.push(`AUTH ${wanted}: auth.enabled is off; treated as not authenticated`);
    else if (!snap.accounts.has(wanted)) authNote.push(`AUTH ${wanted}: no such account (inbox/${wanted}/); treated as not authenticated`);
    else if (!snap.accounts.get(wanted)!.password) authNote.push(`AUTH ${wanted}: the account has no apop.dat password, so it cannot authenticate; treated as not authenticated`);
    else {
      authUser = wanted;
      authNote.push(`AUTH ${wanted}: as if authenticated`);
    }
  }
  const session: PolicySession = {
    clientIp,
    clientHostname: (opts.clientHostname ?? '').toLowerCase(),
    helo: req.helo ?? '',
    authUser,
    now: opts.now ?? new Date(),
  };

  const notReached = (why: string) => ({ accept: false, reason: `not reached: ${why}` });
  const connect = evaluateConnect(snap, session);
  const name = session.clientHostname ? ` (${session.clientHostname})` : '';
  if (!connect.accept) {
    text.push(`connect ${clientIp}${name}: refused ${formatReply(connect.reply!)} (${connect.reason})`);
    detail(connect.trace);
    text.push('the connection is closed: MAIL FROM and RCPT TO are not reached');
    return {
      connect: summary(connect),
      mailFrom: notReached('connection refused'),
      recipients: req.to.map((address) => ({ address, ...notReached('connection refused'), trace: [] })),
      text,
    };
  }
  text.push(`connect ${clientIp}${name}: accepted (${connect.reason})`);
  detail(connect.trace);
  text.push(...authNote);

  const sender = senderArgFrom(req.from);
  const mail = evaluateMailFrom(snap, session, sender);
  if (!mail.accept) {
    text.push(`${senderText(sender)}: refused ${formatReply(mail.reply!)} (${mail.reason})`);
    detail(mail.trace);
    return {
      connect: summary(connect),
      mailFrom: summary(mail),
      recipients: req.to.map((address) => ({ address, ...notReached('MAIL FROM refused'), trace: [] })),
      text,
    };
  }
  text.push(`${senderText(sender)}: accepted, ${mail.reason}`);
  detail(mail.trace);

  const recipients: ExplainResult['recipients'] = [];
  for (const to of req.to) {
    const d = evaluateRcpt(snap, session, mail.standing, sender, to);
    const shown = `RCPT TO:<${to.trim().replace(/^<(.*)>$/, '$1')}>`;
    if (!d.accept) {
      text.push(`${shown}: refused ${formatReply(d.reply!)} (${d.reason})`);
      detail(d.trace);
      recipients.push({ address: to, ...summary(d), trace: d.trace });
      continue;
    }
    const plan = recipientCheckPlan(snap, session, mail.standing, d.targets);
    const checks = [...plan.notes];
    let refusedBy: string | null = null;
    const now = session.now.getTime();
    const lifetimes = snap.settings.recipientCheck;
    for (const item of plan.items) {
      const a = opts.recipientCheck?.(item.address.toLowerCase());
      const fresh = a && now - a.at < (a.answer === 'exists' ? lifetimes.existsCacheSec : lifetimes.unknownCacheSec) * 1000;
      if (a && fresh) {
        checks.push(`recipient check <${item.address}>: ${describeCheck(a, true, now)}`);
        if (a.answer === 'unknown') refusedBy ??= describeCheck(a, true, now);
      } else {
        checks.push(`recipient check <${item.address}>: no cached answer; the receiver would ask ${hopsText(item.hops)}`);
      }
    }
    if (refusedBy) {
      const reply = replies.userUnknown(to.trim().replace(/^<(.*)>$/, '$1'));
      text.push(`${shown}: refused ${formatReply(reply)} (${d.reason}; ${refusedBy})`);
      detail([...d.trace, ...checks]);
      recipients.push({ address: to, accept: false, reply: formatReply(reply), ...(d.rule ? { rule: formatRef(d.rule) } : {}), reason: `${d.reason}; ${refusedBy}`, trace: [...d.trace, ...checks] });
      continue;
    }
    const route = d.targets.map((t) => routeOf(snap, t)).join('; ');
    const checked = checks.filter((c) => c.startsWith('recipient check')).map((c) => c.replace(/^recipient check <[^>]*>: /, ''));
    text.push(`${shown}: accepted -> ${d.reason}; ${route}${checked.length ? `; ${checked.join('; ')}` : ''}`);
    detail([...d.trace, ...checks]);
    recipients.push({ address: to, ...summary(d), route, trace: [...d.trace, ...checks, route] });
  }
  return { connect: summary(connect), mailFrom: summary(mail), recipients, text };
}
