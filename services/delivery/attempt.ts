// One delivery attempt of one queued message (SPEC 8): group the pending recipients by next
// hop, one SMTP transaction per hop (falling back to the next hop of the route on no answer
// or 4xx), local copies, then the retry policy, the bounce, and the control file or removal.
// The caller holds the message's claim.
import { createReadStream, statSync } from 'node:fs';
import { pipeline, Transform, type Readable } from 'node:stream';
import type { ConfigSnapshot } from '../config/types.js';
import type { ControlRecord, RecipientState } from '../queue/types.js';
import type { Route } from '../policy/types.js';
import { lookupRoute } from '../policy/route.js';
import { messageFile, readMessageBytes, removeMessage, writeControl } from '../queue/store.js';
import type { QueueWriter } from '../queue/writer.js';
import { workPaths } from '../config/paths.js';
import { applyOutcome, failureNote, nextAttemptAt, type AttemptOutcome } from './retry.js';
import { planRoute, type PlanContext } from './hops.js';
import { HopConnection, HopError, type ClientOptions, type HopTarget, type RecipientResult } from './smtp-client.js';
import type { HopPool } from './pool.js';
import { deliverLocal, LocalError } from './local.js';
import { writeBounce, type FailedRecipient } from './bounce.js';
import { attemptLogId, bounceLogId } from './log-ids.js';
import type { MxResolver } from './dns.js';
import { traceLine } from './debug.js';
import type { DeadHosts } from './dead-hosts.js';
import { localIso } from '../logs/format.js';
import { hopTlsOptions } from './tls-policy.js';
import { streamed } from '../runtime/streamed-bytes.js';

/** Messages up to this size are read into memory for sending instead of streamed. */
const WHOLE_READ_MAX = 256 * 1024;

export interface AttemptContext {
  workdir: string;
  snap: ConfigSnapshot;
  resolver: MxResolver;
  pool: HopPool;
  own: Set<string>;
  writer: QueueWriter;
  /** Sender log (SPEC 10): `[time] [B0000000186-R0001] text`. */
  log: (id: string, text: string) => void;
  debug: (line: string) => void;
  /** Hosts found unreachable a moment ago (shared by the runner's attempts). */
  deadHosts?: DeadHosts;
  /** Also trace every SMTP command and reply (--debug). */
  traceSmtp?: boolean;
  now?: () => Date;
}

export interface AttemptSummary {
  /** The record after the attempt; null when the message was removed (all final). */
  record: ControlRecord | null;
  delivered: number;
  failed: number;
  pending: number;
  bounceId?: string;
}

function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  return at >= 0 ? address.slice(at + 1).toLowerCase() : '';
}

function localPartOf(address: string): string {
  const at = address.lastIndexOf('@');
  return (at >= 0 ? address.slice(0, at) : address).toLowerCase();
}

function routeText(route: Route): string {
  switch (route.kind) {
    case 'gateway':
      return route.hops.map((h) => `${h.rule.file}:${h.rule.line} ${h.host}:${h.port}`).join(', ');
    case 'smarthost':
      return `smarthost ${route.host}:${route.port}`;
    case 'mx':
      return `mx ${route.domain}`;
    case 'local':
      return 'local';
  }
}

/** The route a remote recipient takes. With forwardAll off, an address of a local domain
 * that names a local account (a bounce to a local sender, say) is copied into its inbox;
 * everything else follows gateway.dat, the smarthost or MX (policy lookupRoute). */
function routeFor(snap: ConfigSnapshot, domain: string, address: string): Route {
  if (!snap.settings.delivery.forwardAll && snap.domains.some((d) => d.domain.toLowerCase() === domain)) {
    if (snap.accounts.has(localPartOf(address))) return { kind: 'local' };
  }
  return lookupRoute(snap, domain).route;
}

export function clientOptions(snap: ConfigSnapshot, route: Route, trace?: (line: string) => void): ClientOptions {
  const d = snap.settings.delivery;
  const opts: ClientOptions = {
    helo: snap.settings.hostname,
    connectTimeoutMs: d.connectTimeoutSec * 1000,
    replyTimeoutMs: d.replyTimeoutSec * 1000,
    trace,
    // delivery.tlsVerify / tlsRequire / tlsCaFile for this route (default: none of it).
    ...hopTlsOptions(snap, route),
  };
  // RFC 4954: AUTH only to the smarthost, never to an MX or a gateway.dat hop.
  if (route.kind === 'smarthost' && d.smarthostUser) opts.auth = { user: d.smarthostUser, pass: d.smarthostPassword };
  return opts;
}

interface Group {
  key: string;
  domain: string;
  route: Route;
  recipients: RecipientState[];
}

export async function attemptDelivery(ctx: AttemptContext, record: ControlRecord): Promise<AttemptSummary> {
  const now = ctx.now ?? (() => new Date());
  const snap = ctx.snap;
  const policy = snap.settings.delivery;
  const logId = attemptLogId(record.id, record.retries);
  const log = (text: string) => ctx.log(logId, text);
  const trace = (text: string) => ctx.debug(traceLine(logId, text));
  // The message is the first record.size bytes of this file (queue format 2: the queue file,
  // followed by its envelope; format 1: the .MSG).
  const msgPath = messageFile(ctx.workdir, record);
  const outcomes = new Map<RecipientState, AttemptOutcome>();

  // A control file without its data cannot come from the queue's write order (see
  // queue/sweep.ts); leave it for the administrator instead of bouncing nothing.
  try {
    statSync(msgPath); // on the loop thread: microseconds, no thread-pool round trip
  } catch {
    throw new Error(`${record.id}.MSG is missing: message left in the queue for the administrator`);
  }
  log(`attempt ${record.retries + 1} from=<${record.from}> size=${record.size}`);

  // The queue UI's "bounce" (control bounceMessage, docs/control-api.md): the record carries
  // `bounceNow` with the reason; every pending recipient fails with it, bounced as usual.
  const bounceNow = (record as ControlRecord & { bounceNow?: unknown }).bounceNow;
  if (typeof bounceNow === 'string' && bounceNow) {
    for (const r of record.recipients) {
      if (r.status === 'pending') outcomes.set(r, { kind: 'fatal', reply: `554 5.0.0 ${bounceNow}`, host: '' });
    }
  }

  // --- local recipients (forwardAll off, decided by the receiver) and grouping by route
  const groups = new Map<string, Group>();
  const locals: Array<{ r: RecipientState; user: string }> = [];
  for (const r of record.recipients) {
    if (r.status !== 'pending' || outcomes.has(r)) continue;
    if (r.kind === 'local' && r.user) {
      locals.push({ r, user: r.user });
      continue;
    }
    const domain = domainOf(r.address);
    const route = routeFor(snap, domain, r.address);
    if (route.kind === 'local') {
      // A bounce to a local sender, or an alias target in a local domain: deliver into the
      // account's inbox when it has one.
      const user = localPartOf(r.address);
      if (snap.accounts.has(user)) locals.push({ r, user });
      else outcomes.set(r, { kind: 'fatal', reply: `550 5.1.1 <${r.address}>: no such local mailbox`, host: '' });
      continue;
    }
    const key = JSON.stringify(route);
    const g = groups.get(key) ?? { key, domain, route, recipients: [] };
    g.recipients.push(r);
    groups.set(key, g);
  }

  for (const { r, user } of locals) {
    try {
      const res = await deliverLocal(workPaths(ctx.workdir).inbox, user, record.id, msgPath, record.size);
      const text = res === 'delivered' ? `local copy to inbox/${user}/${record.id}.MSG` : `already in inbox/${user}/${record.id}.MSG`;
      trace(`local ${r.address} -> inbox/${user}/${record.id}.MSG${res === 'delivered' ? '' : ' (already there)'}`);
      outcomes.set(r, { kind: 'delivered', reply: `250 ${text}`, host: '' });
    } catch (err) {
      const e = err instanceof LocalError ? err : new LocalError(`451 4.3.0 ${(err as Error).message}`, 'temp');
      outcomes.set(r, { kind: e.kind, reply: e.reply, host: '' });
    }
  }

  // --- one transaction per next hop
  const planCtx: PlanContext = {
    resolver: ctx.resolver,
    outboundPort: policy.outboundPort,
    own: ctx.own,
    receiverPorts: [...snap.settings.receiver.ports, ...snap.settings.receiver.implicitTlsPorts],
  };
  for (const g of groups.values()) {
    const results = await deliverGroup(ctx, record, g, planCtx, msgPath, log, trace);
    for (const r of g.recipients) outcomes.set(r, results.get(r.address)!);
  }

  // --- retry policy, per recipient
  const at = now();
  const newlyFailed: FailedRecipient[] = [];
  const recipients = record.recipients.map((r) => {
    const o = outcomes.get(r);
    if (!o) return r;
    const next = applyOutcome(r, o, at, policy);
    const status = next.status === 'pending' ? `deferred (${o.kind})` : next.status;
    log(`<${r.address}> ${status}${o.host ? ` host=${o.host}` : ''}: ${o.reply}`);
    if (next.status === 'failed') newlyFailed.push({ state: next, note: failureNote(o) });
    if (next.status === 'pending') trace(`retry ${r.address} at ${localIso(nextAttemptAt(at, policy))}: ${o.reply}`);
    return next;
  });
  // The administrator's request is answered by this attempt: the next ones are ordinary again.
  const { retryRequestedAt: _answered, ...rest } = record;
  let updated: ControlRecord = { ...rest, recipients };
  // The `-R0001` counter counts attempts made: none when every hop was skipped as unreachable
  // a moment ago (issue 13: a retry that sent nothing must not look like one).
  const tried = [...outcomes.values()].some((o) => !o.notTried);

  // --- bounce, queued before the original may go (SPEC 8)
  let bounceId: string | undefined;
  if (newlyFailed.length) bounceId = await bounce(ctx, updated, newlyFailed, msgPath, at);

  const counts = {
    delivered: recipients.filter((r) => r.status === 'delivered').length,
    failed: recipients.filter((r) => r.status === 'failed').length,
    pending: recipients.filter((r) => r.status === 'pending').length,
  };
  if (counts.pending === 0) {
    await removeMessage(ctx.workdir, record.id, { recycle: snap.settings.delivery.recycleQueueFiles });
    log(`done: ${counts.delivered} delivered, ${counts.failed} failed; removed from the queue`);
    return { record: null, ...counts, bounceId };
  }
  updated = { ...updated, retries: tried ? record.retries + 1 : record.retries, nextAttemptAt: nextAttemptAt(at, policy).toISOString() };
  await writeControl(ctx.workdir, updated);
  log(`${counts.pending} pending, next attempt ${attemptLogId(record.id, updated.retries)} at ${localIso(new Date(updated.nextAttemptAt))}`);
  return { record: updated, ...counts, bounceId };
}

/** Try the route's hops in order until every recipient has a 2xx/5xx answer or no hop is left.
 * A recipient answered 4xx (or not at all) moves on to the next hop (SPEC 4 fallback). */
async function deliverGroup(
  ctx: AttemptContext,
  record: ControlRecord,
  g: Group,
  planCtx: PlanContext,
  msgPath: string,
  log: (text: string) => void,
  trace: (text: string) => void,
): Promise<Map<string, AttemptOutcome>> {
  const out = new Map<string, AttemptOutcome>();
  const plan = await planRoute(g.route, g.domain, planCtx);
  for (const n of plan.notes) {
    log(n);
    trace(`route ${g.domain}: ${n}`);
  }
  if (plan.kind === 'fail') {
    trace(`route ${g.domain} -> ${routeText(g.route)}: ${plan.outcome.reply}`);
    for (const r of g.recipients) out.set(r.address, plan.outcome);
    return out;
  }
  const opts = clientOptions(ctx.snap, g.route, ctx.traceSmtp ? trace : undefined);
  let remaining = g.recipients.map((r) => r.address);
  for (const c of plan.candidates) {
    if (remaining.length === 0) break;
    trace(`route ${g.domain} -> ${c.label}`);
    log(`route ${g.domain} -> ${c.label} for ${remaining.length} recipient(s)`);
    let results: RecipientResult[];
    let host = '';
    // An administrator's "retry now" (record.retryRequestedAt) means a real attempt: the
    // unreachable-host memory is for the queue's own retries, not for an explicit request.
    const downReason = record.retryRequestedAt ? null : ctx.deadHosts?.down(c.target.address, c.target.port);
    let notTried = false;
    if (downReason) {
      host = `${c.target.hostname}:${c.target.port}`;
      notTried = true;
      results = remaining.map((a) => ({ address: a, kind: 'noanswer' as const, reply: `${downReason} (host unreachable a moment ago, not tried again yet)` }));
    } else {
      try {
        const r = await transaction(ctx, c.target, opts, record, remaining, msgPath);
        results = r.recipients;
        host = r.hostLabel;
        ctx.deadHosts?.markUp(c.target.address, c.target.port);
      } catch (err) {
        const e = err instanceof HopError ? err : new HopError('noanswer', (err as Error).message);
        host = `${c.target.hostname}:${c.target.port}`;
        results = remaining.map((a) => ({ address: a, kind: e.kind, reply: e.reply }));
        // Only "could not talk to it at all" marks a host down; an answer (even 4xx) does not.
        if (e.kind === 'noanswer') ctx.deadHosts?.markDown(c.target.address, c.target.port, e.reply, ctx.snap.settings.delivery.retryIntervalSec);
      }
    }
    const next: string[] = [];
    for (const r of results) {
      trace(`${host} ${r.address}: ${r.reply}`);
      const kind = r.kind === 'ok' ? 'delivered' : r.kind;
      out.set(r.address, { kind, reply: r.reply, host, ...(notTried ? { notTried } : {}) });
      if (r.kind === 'temp' || r.kind === 'noanswer') next.push(r.address);
    }
    remaining = next;
  }
  return out;
}

/** A big message from its file; the chunks read are counted so that the ones already sent are
 * freed as it goes instead of piling up until V8 next collects (runtime/streamed-bytes.ts). */
function countedReadStream(path: string, size: number): Readable {
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      streamed(chunk.length);
      done(null, chunk);
    },
  });
  // pipeline: when the transaction fails and the counter is destroyed, the file closes too.
  return pipeline(createReadStream(path, { end: size - 1 }), counter, () => {});
}

async function transaction(
  ctx: AttemptContext,
  target: HopTarget,
  opts: ClientOptions,
  record: ControlRecord,
  recipients: string[],
  msgPath: string,
) {
  // Most mail is small: read it whole on the loop thread (one open/read/close, no thread-pool
  // round trips) and hand the buffer over (it then leaves with its dot in one socket write,
  // smtp-client.ts); a big message streams from the file.
  const stream = () => (record.size <= WHOLE_READ_MAX ? readMessageBytes(msgPath, record.size) : countedReadStream(msgPath, record.size));
  let lease = await ctx.pool.acquire(target, opts);
  let result = await lease.conn.send(record.from, recipients, record.size, stream);
  // A pooled connection the server closed while idle fails at once with no reply at all:
  // that says nothing about the hop, so try once more on a fresh connection.
  if (lease.reused && result.recipients.every((r) => r.kind === 'noanswer')) {
    lease.conn.close();
    lease = { conn: await HopConnection.open(target, opts), reused: false, uses: 0 };
    result = await lease.conn.send(record.from, recipients, record.size, stream);
  }
  ctx.pool.release(lease, opts, result.reusable);
  return result;
}

/** Queue the bounce for the recipients that just failed (SPEC 8): to the envelope sender;
 * for a failed bounce once to the postmaster; a failed double bounce, or a message whose
 * sender is <>, is only logged. */
async function bounce(
  ctx: AttemptContext,
  record: ControlRecord,
  failed: FailedRecipient[],
  msgPath: string,
  at: Date,
): Promise<string | undefined> {
  const d = ctx.snap.settings.delivery;
  const logId = bounceLogId(record.id, record.retries);
  let to: string;
  let origin: ControlRecord['origin'];
  if (record.origin === 'double-bounce') {
    ctx.log(logId, `double bounce could not be delivered: dropped (${failed.map((f) => f.state.address).join(', ')})`);
    return undefined;
  }
  if (record.origin === 'bounce') {
    to = d.postmaster;
    origin = 'double-bounce';
  } else if (!record.from) {
    // RFC 5321 4.5.5 / 6.1: never answer a message from the null sender with a bounce.
    ctx.log(logId, `sender is <>: no bounce for ${failed.map((f) => f.state.address).join(', ')}`);
    return undefined;
  } else {
    to = record.from;
    origin = 'bounce';
  }
  const pending = await ctx.writer.begin();
  try {
    await writeBounce((c) => pending.write(c), {
      format: d.bounceFormat,
      reportingMta: ctx.snap.settings.hostname,
      postmaster: d.postmaster,
      to,
      original: record,
      failed,
      now: at,
      double: origin === 'double-bounce',
    }, msgPath);
    const iso = at.toISOString();
    const id = await pending.commit({
      from: '',
      recipients: [{ address: to, original: to, kind: 'remote', status: 'pending', attempts: 0, refusals: 0 }],
      receivedAt: iso,
      nextAttemptAt: iso,
      retries: 0,
      client: { ip: '', helo: ctx.snap.settings.hostname, authUser: '' },
      origin,
      bounceOf: record.id,
    });
    ctx.log(logId, `${origin === 'double-bounce' ? 'double bounce' : 'bounce'} queued as ${id} to <${to}> for ${failed.map((f) => `<${f.state.address}>`).join(', ')}`);
    ctx.debug(traceLine(logId, `bounce queued as ${id} to <${to}>`));
    return id;
  } catch (err) {
    await pending.abort().catch(() => {});
    throw err;
  }
}
