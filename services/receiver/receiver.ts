// The receiver: one smtp-server per listening port, all sharing one state, the config
// watcher, the queue writer and the logs. Handlers are thin: they ask the policy engine
// (services/policy) and send its Reply as is, or hand DATA to message.ts.
import { readFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { format } from 'node:util';
import type { Readable } from 'node:stream';
import type {
  SMTPServerAddress,
  SMTPServerAuthentication,
  SMTPServerAuthenticationResponse,
  SMTPServerOptions,
  SMTPServerSession,
} from 'smtp-server';
import { ConfigWatcher, ConfigLoadError } from '../config/watch.js';
import { formatDiagnostic, formatRef, type ConfigSnapshot, type Diagnostic } from '../config/types.js';
import { evaluateConnect, evaluateMailFrom, evaluateRcpt } from '../policy/index.js';
import { matchClient } from '../policy/effect.js';
import { parseIp } from '../policy/ip.js';
import type { Decision, PolicySession, RecipientTarget, RelayStanding, Reply, SenderArg } from '../policy/types.js';
import { QueueWriter, type RecipientState } from '../queue/index.js';
import { openLogs, type Logs } from '../logs/index.js';
import { SekishoConnection, SekishoServer, type ConnectionHooks, type VerifyAnswer } from './smtp.js';
import { REPLIES, SmtpReplyError, formatReply, queuedText } from './replies.js';
import { authRefusal, ehloKeywords, type AuthContext } from './features.js';
import { checkLogin } from './auth.js';
import { forwardConfirmedName } from './rdns.js';
import { receiveMessage } from './message.js';
import { verifyAnswer } from './verify.js';
import { dnsblCheck, dnsblReply, isPrivateAddress } from './dnsbl.js';
import { effectiveConfigLines } from './effective-config.js';
import { RecipientChecker, outcomeText, type CheckOutcome } from './recipient-check/checker.js';
import { recipientCheckPlan, type CheckItem } from '../policy/recipient-check.js';
import { replies } from '../policy/replies.js';

export interface ReceiverOptions {
  workdir: string;
  /** Receives the `--debug` output: the effective configuration, then the trace. */
  debug?: (line: string) => void;
  /**
   * Problems an admin must see without --debug (a configuration change not applied, a
   * listener change that needs a restart). Default: stderr, `sekisho receiver: ` first.
   */
  warn?: (text: string) => void;
}

export interface Receiver {
  /** The ports listening, plain ones first, then the implicit-TLS ones. */
  ports: number[];
  /** Stop accepting, let messages in DATA finish (at most SHUTDOWN_GRACE_MS), close. */
  close(): Promise<void>;
}

/** A startup problem an admin must fix (port in use, broken config, unreadable certificate). */
export class ReceiverStartError extends Error {}

/** How long a shutdown waits for messages still in DATA. */
export const SHUTDOWN_GRACE_MS = 10_000;
/** Failed AUTH attempts per connection before it is closed (slows password guessing). */
const MAX_AUTH_FAILURES = 3;
/** setTimeout's ceiling (~24.8 days): what "idleTimeoutSec 0 = unlimited" becomes. */
const NO_TIMEOUT_MS = 2 ** 31 - 1;

interface Transaction {
  snapshot: ConfigSnapshot;
  sender: SenderArg;
  /** Envelope sender as queued: '' for `<>` and blank. */
  from: string;
  standing: RelayStanding;
  /** Accepted RCPTs by lower-cased address as written, in order. */
  recipients: Map<string, { original: string; targets: RecipientTarget[] }>;
}

interface ConnState {
  conn: SekishoConnection;
  id: string;
  clientIp: string;
  clientPort: number;
  localPort: number;
  clientHostname: string;
  tx: Transaction | null;
  authFailures: number;
  acceptLogged: boolean;
}

interface Listener {
  server: SekishoServer;
  port: number;
  implicitTls: boolean;
}

interface ListenSettings {
  bind: string;
  ports: number[];
  implicitTlsPorts: number[];
  cert: string;
  key: string;
}

function listenSettings(snap: ConfigSnapshot): ListenSettings {
  const r = snap.settings.receiver;
  return { bind: r.bind, ports: [...r.ports], implicitTlsPorts: [...r.implicitTlsPorts], cert: snap.settings.tls.cert, key: snap.settings.tls.key };
}

function idleMs(sec: number): number {
  return sec > 0 ? Math.min(sec * 1000, NO_TIMEOUT_MS) : NO_TIMEOUT_MS;
}

function authMethodsOf(snap: ConfigSnapshot): string[] {
  const m = [...new Set(snap.settings.auth.methods.map((x) => x.toUpperCase()))];
  // smtp-server replaces an empty list by LOGIN PLAIN; the AUTH gate refuses anyway then.
  return m.length ? m : ['PLAIN'];
}

function clock(d = new Date()): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** `@a,@b:user@dom` -> `user@dom` (RFC 5321 section 4.1.2: the route is ignored). */
function withoutSourceRoute(addr: string): string {
  return addr.startsWith('@') && addr.includes(':') ? addr.slice(addr.indexOf(':') + 1) : addr;
}

function senderText(s: SenderArg): string {
  return s.kind === 'address' ? `<${s.address}>` : s.kind === 'null' ? '<>' : '(blank)';
}

async function readTls(snap: ConfigSnapshot): Promise<{ key: Buffer; cert: Buffer } | null> {
  const { cert, key } = snap.settings.tls;
  if (!cert && !key) return null;
  if (!cert || !key) throw new ReceiverStartError('tls.cert and tls.key must both be set (or both empty)');
  const path = (p: string) => (isAbsolute(p) ? p : join(snap.workdir, p));
  const read = async (name: string, p: string) => {
    try {
      return await readFile(path(p));
    } catch (err) {
      throw new ReceiverStartError(`cannot read ${name} ${path(p)} (${(err as NodeJS.ErrnoException).code ?? errText(err)})`);
    }
  };
  return { cert: await read('tls.cert', cert), key: await read('tls.key', key) };
}

function listenError(err: NodeJS.ErrnoException, bind: string, port: number): ReceiverStartError {
  switch (err.code) {
    case 'EADDRINUSE':
      return new ReceiverStartError(`port ${port} is already in use (EADDRINUSE)`);
    case 'EACCES':
      return new ReceiverStartError(`port ${port}: permission denied (EACCES); ports below 1024 need administrator rights`);
    case 'EADDRNOTAVAIL':
      return new ReceiverStartError(`cannot listen on ${bind}:${port}: address not available (EADDRNOTAVAIL); check receiver.bind`);
    default:
      return new ReceiverStartError(`cannot listen on ${bind}:${port}: ${err.message}`);
  }
}

class ReceiverService implements ConnectionHooks {
  readonly listeners: Listener[] = [];
  private readonly states = new Map<string, ConnState>();
  private readonly inflight = new Set<Promise<void>>();
  private readonly writer: QueueWriter;
  private closing: Promise<void> | null = null;
  private readonly started: ListenSettings;
  private restartNoted = '';
  /** Recipient verification against the internal server (SPEC 5, issue 15). */
  readonly checker: RecipientChecker;

  constructor(
    private readonly workdir: string,
    private readonly watcher: ConfigWatcher,
    private readonly logs: Logs,
    private readonly tls: { key: Buffer; cert: Buffer } | null,
    private readonly debugSink: ((line: string) => void) | undefined,
    private readonly warnSink: (text: string) => void,
  ) {
    this.writer = new QueueWriter(workdir);
    this.started = listenSettings(watcher.current());
    this.checker = new RecipientChecker({
      workdir,
      settings: () => this.watcher.current().settings.recipientCheck,
      heloName: () => this.watcher.current().settings.hostname,
      trace: (line) => this.trace(null, line),
    });
    watcher.on('applied', (snap) => this.applied(snap));
    watcher.on('rejected', (diags) => this.rejected(diags));
    watcher.on('error', (err) => this.warn(`configuration watcher: ${errText(err)}`));
  }

  // ------------------------------------------------------------------ trace and logs

  private trace(session: string | null, text: string): void {
    if (!this.debugSink) return;
    const prefix = `${clock()} ${session ? `[${session}] ` : ''}`;
    for (const line of text.split(/\r?\n/)) this.debugSink(prefix + line);
  }

  private traceDecision(session: string, stage: string, d: Decision): void {
    if (!this.debugSink) return;
    for (const t of d.trace) this.trace(session, `  ${t}`);
    const verdict = d.accept ? 'accept' : `refuse ${d.reply ? formatReply(d.reply) : ''}`;
    this.trace(session, `${stage}: ${verdict} - ${d.reason}${d.rule ? ` [${formatRef(d.rule)}]` : ''}`);
  }

  /** Problems an admin must see even without --debug (stderr), and in the trace. */
  private warn(text: string): void {
    this.warnSink(text);
    this.trace(null, text);
  }

  private logAccept(st: ConnState, accepted: boolean, reason?: string): void {
    if (st.acceptLogged) return;
    st.acceptLogged = true;
    this.logs.accept({ ip: st.clientIp, port: st.clientPort, localPort: st.localPort, accepted, reason });
  }

  /** smtp-server's logger: its `C:` / `S:` entries are exactly the lines on the wire (AUTH data redacted). */
  readonly lineLogger = (() => {
    const handle = (level: string, entry: Record<string, unknown> | undefined, message?: unknown, ...args: unknown[]) => {
      const cid = typeof entry?.cid === 'string' ? entry.cid : '';
      const tnx = entry?.tnx;
      if (tnx === 'command' && message === 'C:') return this.clientLine(cid, String(args[0] ?? ''));
      if (tnx === 'send' && message === 'S:') {
        for (const line of String(args[0] ?? '').split('\r\n')) this.serverLine(cid, line);
        return;
      }
      if (tnx === 'data' && cid) {
        this.logs.receive(cid, '<', `(message data, ${entry?.bytes ?? '?'} bytes)`);
        return;
      }
      if (tnx === 'starttls' || level === 'error') this.trace(cid || null, format(String(message ?? ''), ...args));
    };
    const at = (level: string) => (entry: Record<string, unknown> | undefined, message?: unknown, ...args: unknown[]) =>
      handle(level, entry, message, ...args);
    return { trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), fatal: at('fatal') };
  })();

  private clientLine(cid: string, line: string): void {
    const st = this.states.get(cid);
    this.logs.receive(cid, '<', line);
    this.trace(cid, `< ${line}`);
    if (st && !st.conn._ready && !st.conn._closing) {
      // The patched smtp-server answers an early talker 554 5.5.0 and closes (SPEC 7).
      this.logAccept(st, false, `554 5.5.0 early talker (spoke before the greeting)`);
      this.trace(cid, 'early talker: the client spoke before the greeting');
    }
  }

  private serverLine(cid: string, line: string): void {
    this.logs.receive(cid, '>', line);
    this.trace(cid, `> ${line}`);
  }

  // ------------------------------------------------------------------ configuration

  private applied(snap: ConfigSnapshot): void {
    for (const l of this.listeners) this.applyToServer(l.server, snap);
    this.trace(null, `configuration generation ${snap.generation} applied (new transactions use it; open connections stay)`);
    const now = listenSettings(snap);
    const changed = (Object.keys(now) as Array<keyof ListenSettings>).filter(
      (k) => JSON.stringify(now[k]) !== JSON.stringify(this.started[k]),
    );
    const note = changed.join(',');
    if (changed.length && note !== this.restartNoted) {
      this.restartNoted = note;
      const what = changed.map((k) => `${k} ${JSON.stringify(this.started[k])} -> ${JSON.stringify(now[k])}`).join('; ');
      this.warn(`listener settings changed (${what}): restart the receiver to apply them`);
    } else if (!changed.length) {
      this.restartNoted = '';
    }
  }

  private rejected(diags: Diagnostic[]): void {
    const errors = diags.filter((d) => d.severity === 'error');
    this.warn(
      `configuration change not applied, the last good configuration stays in force:\n` +
        errors.map((d) => `  ${formatDiagnostic(d)}`).join('\n'),
    );
  }

  /** The settings smtp-server reads per connection or per command, updated in place. */
  private applyToServer(server: SekishoServer, snap: ConfigSnapshot): void {
    const r = snap.settings.receiver;
    const o = server.options as SMTPServerOptions & { greetPauseMs?: number };
    o.name = snap.settings.hostname;
    o.size = r.maxMessageBytes > 0 ? r.maxMessageBytes : undefined;
    o.socketTimeout = idleMs(r.idleTimeoutSec);
    o.greetPauseMs = r.greetPauseMs;
    o.authMethods = authMethodsOf(snap);
  }

  private serverOptions(snap: ConfigSnapshot, implicitTls: boolean): SMTPServerOptions {
    const r = snap.settings.receiver;
    const options: SMTPServerOptions & { greetPauseMs: number } = {
      secure: implicitTls,
      name: snap.settings.hostname,
      banner: 'Sekisho',
      heloResponse: '%s Hello %s',
      ...(this.tls ? { key: this.tls.key, cert: this.tls.cert, minVersion: 'TLSv1.2' as const } : {}),
      hideSTARTTLS: !this.tls,
      // The sendmail jokes (WIZ, SHELL, KILL) answer 500 like any unknown command.
      disabledCommands: this.tls ? ['WIZ', 'SHELL', 'KILL'] : ['STARTTLS', 'WIZ', 'SHELL', 'KILL'],
      hideENHANCEDSTATUSCODES: false,
      hideDSN: true,
      hideREQUIRETLS: true,
      authMethods: authMethodsOf(snap),
      // AUTH is offered and gated by us (features.ts); MAIL without AUTH is the policy's call.
      authOptional: true,
      allowInsecureAuth: true,
      maxAllowedUnauthenticatedCommands: false,
      // We do forward-confirmed reverse DNS ourselves (rdns.ts), with our timeout.
      disableReverseLookup: true,
      size: r.maxMessageBytes > 0 ? r.maxMessageBytes : undefined,
      socketTimeout: idleMs(r.idleTimeoutSec),
      closeTimeout: SHUTDOWN_GRACE_MS,
      greetPauseMs: r.greetPauseMs,
      logger: this.lineLogger as unknown as SMTPServerOptions['logger'],
      onConnect: (session, cb) => this.onConnect(session, cb),
      onAuth: (auth, session, cb) => this.onAuth(auth, session, cb),
      onMailFrom: (address, session, cb) => this.onMailFrom(address, session, cb),
      onRcptTo: (address, session, cb) => this.onRcptTo(address, session, cb),
      onData: (stream, session, cb) => this.onData(stream, session, cb),
      onClose: (session) => this.onClose(session),
    };
    return options;
  }

  async listen(): Promise<void> {
    const snap = this.watcher.current();
    const r = snap.settings.receiver;
    if (r.implicitTlsPorts.length && !this.tls) {
      throw new ReceiverStartError(`receiver.implicitTlsPorts ${r.implicitTlsPorts.join(',')} need tls.cert and tls.key`);
    }
    const wanted = [...r.ports.map((port) => ({ port, implicitTls: false })), ...r.implicitTlsPorts.map((port) => ({ port, implicitTls: true }))];
    if (!wanted.length) throw new ReceiverStartError('receiver.ports and receiver.implicitTlsPorts are both empty: nothing to listen on');
    const seen = new Set<number>();
    for (const w of wanted) {
      if (seen.has(w.port)) throw new ReceiverStartError(`port ${w.port} is listed twice in receiver.ports / receiver.implicitTlsPorts`);
      seen.add(w.port);
    }
    for (const w of wanted) {
      const server = new SekishoServer(this.serverOptions(snap, w.implicitTls), this);
      server.on('error', (err: NodeJS.ErrnoException) => this.trace(null, `port ${w.port}: ${err.message}`));
      await new Promise<void>((resolve, reject) => {
        const onError = (err: NodeJS.ErrnoException) => reject(listenError(err, r.bind, w.port));
        server.server.once('error', onError);
        server.listen(w.port, r.bind, () => {
          server.server.off('error', onError);
          resolve();
        });
      });
      const address = server.server.address();
      const port = address && typeof address === 'object' ? address.port : w.port;
      this.listeners.push({ server, port, implicitTls: w.implicitTls });
      this.trace(null, `listening on ${r.bind}:${port}${w.implicitTls ? ' (implicit TLS)' : this.tls ? ' (STARTTLS)' : ''}`);
    }
  }

  // ------------------------------------------------------------------ connection hooks

  created(conn: SekishoConnection): void {
    const st: ConnState = {
      conn,
      id: conn.id,
      clientIp: conn.remoteAddress,
      clientPort: conn.remotePort,
      localPort: conn.localPort,
      clientHostname: '',
      tx: null,
      authFailures: 0,
      acceptLogged: false,
    };
    this.states.set(conn.id, st);
    this.trace(conn.id, `connection from ${conn.remoteAddress}:${conn.remotePort} to port ${conn.localPort}${conn.secure ? ' (TLS)' : ''}`);
  }

  private authContext(conn: SekishoConnection): AuthContext {
    return {
      settings: this.watcher.current().settings,
      tlsConfigured: !!this.tls,
      secure: conn.secure,
      authenticated: !!conn.session.user,
      inTransaction: !!conn.session.envelope?.mailFrom,
    };
  }

  ehloFeatures(conn: SekishoConnection, features: string[]): string[] {
    return ehloKeywords(features, this.authContext(conn));
  }

  authGate(conn: SekishoConnection): Reply | null {
    const refusal = authRefusal(this.authContext(conn));
    if (refusal) this.trace(conn.id, `AUTH refused: ${formatReply(refusal)}`);
    return refusal;
  }

  async verify(conn: SekishoConnection, command: 'VRFY' | 'EXPN', argument: string): Promise<VerifyAnswer> {
    const st = this.states.get(conn.id);
    const answer = verifyAnswer(this.watcher.current(), this.policySession(st, conn.session), command, argument);
    for (const t of answer.trace) this.trace(conn.id, `  ${t}`);
    return answer;
  }

  private policySession(st: ConnState | undefined, session: SMTPServerSession): PolicySession {
    return {
      clientIp: st?.clientIp ?? session.remoteAddress,
      clientHostname: st?.clientHostname ?? '',
      helo: session.hostNameAppearsAs || '',
      authUser: typeof session.user === 'string' ? session.user : '',
      now: new Date(),
    };
  }

  // ------------------------------------------------------------------ SMTP stages

  private onConnect(session: SMTPServerSession, cb: (err?: Error | null) => void): void {
    const st = this.states.get(session.id);
    if (!st) return cb();
    const refuse = (reply: Reply, why: string) => {
      this.logAccept(st, false, `${formatReply(reply)} ${why}`);
      this.trace(st.id, `connection refused: ${why}`);
      cb(new SmtpReplyError(reply));
    };
    (async () => {
      if (this.closing) return refuse(REPLIES.shuttingDown, 'shutting down');
      const snap = this.watcher.current();
      // With several receiver processes (receiver.processes) each takes its share of the limit.
      const max = shareOf(snap.settings.receiver.maxConnections);
      const open = this.listeners.reduce((n, l) => n + l.server.connections.size, 0);
      if (max > 0 && open > max) return refuse(REPLIES.tooManyConnections, `${open} connections > maxConnections ${max}`);
      // The admin's DNS servers (delivery.dnsServers) serve the receiver's look-ups too.
      const rdns = await forwardConfirmedName(st.clientIp, { servers: snap.settings.delivery.dnsServers });
      st.clientHostname = rdns.hostname;
      this.trace(st.id, rdns.note);
      if (rdns.hostname) {
        // The EHLO reply greets the confirmed name instead of `[ip]`.
        st.conn._setClientHostname(rdns.hostname);
        session.clientHostname = rdns.hostname;
      }
      const d = evaluateConnect(snap, this.policySession(st, session));
      this.traceDecision(st.id, 'connect', d);
      if (!d.accept) return refuse(d.reply ?? REPLIES.connectLocalError, `${d.reason}${d.rule ? ` (${formatRef(d.rule)})` : ''}`);
      const zones = snap.settings.receiver.dnsbl;
      if (zones.length && !isPrivateAddress(st.clientIp) && !trustedAtConnect(snap, d, st.clientIp, st.clientHostname)) {
        const bl = await dnsblCheck(st.clientIp, zones, { servers: snap.settings.delivery.dnsServers });
        for (const n of bl.notes) this.trace(st.id, n);
        if (bl.listed) return refuse(dnsblReply(st.clientIp, bl.listed.zone), `listed by ${bl.listed.zone} (${bl.listed.answer})`);
      }
      this.logAccept(st, true, d.rule ? formatRef(d.rule) : undefined);
      cb();
    })().catch((err) => refuse(REPLIES.connectLocalError, `internal error: ${errText(err)}`));
  }

  private onAuth(
    auth: SMTPServerAuthentication,
    session: SMTPServerSession,
    cb: (err: Error | null | undefined, response?: SMTPServerAuthenticationResponse) => void,
  ): void {
    const st = this.states.get(session.id);
    const snap = this.watcher.current();
    checkLogin(snap, {
      method: auth.method,
      username: auth.username ?? '',
      password: auth.password ?? undefined,
      validatePassword: auth.method === 'CRAM-MD5' ? (pw) => auth.validatePassword(pw) : undefined,
    }).then(
      (r) => {
        this.trace(session.id, `AUTH ${auth.method}: ${r.note}`);
        if (r.ok) {
          if (st) st.authFailures = 0;
          return cb(null, { user: r.user });
        }
        const failures = st ? ++st.authFailures : 1;
        cb(new SmtpReplyError(failures >= MAX_AUTH_FAILURES ? REPLIES.authTooManyFailures : REPLIES.authInvalid));
      },
      (err) => {
        this.trace(session.id, `AUTH ${auth.method}: error ${errText(err)}`);
        cb(new SmtpReplyError(REPLIES.localError));
      },
    );
  }

  private onMailFrom(address: SMTPServerAddress, session: SMTPServerSession, cb: (err?: Error | null) => void): void {
    const st = this.states.get(session.id);
    if (!st) return cb(new SmtpReplyError(REPLIES.localError));
    try {
      const conn = st.conn;
      const snap = this.watcher.current();
      const sender: SenderArg = conn.blankSender
        ? { kind: 'blank' }
        : address.address === ''
          ? { kind: 'null' }
          : { kind: 'address', address: conn.rawAddress || address.address };
      this.trace(st.id, `transaction ${session.transaction}: sender ${senderText(sender)}, configuration generation ${snap.generation}`);
      const d = evaluateMailFrom(snap, this.policySession(st, session), sender);
      this.traceDecision(st.id, 'MAIL FROM', d);
      if (!d.accept) return cb(new SmtpReplyError(d.reply ?? REPLIES.localError));
      st.tx = {
        snapshot: snap,
        sender,
        from: sender.kind === 'address' ? withoutSourceRoute(sender.address) : '',
        standing: d.standing,
        recipients: new Map(),
      };
      cb();
    } catch (err) {
      this.trace(st.id, `MAIL FROM: internal error ${errText(err)}`);
      cb(new SmtpReplyError(REPLIES.localError));
    }
  }

  private onRcptTo(address: SMTPServerAddress, session: SMTPServerSession, cb: (err?: Error | null) => void): void {
    const st = this.states.get(session.id);
    const tx = st?.tx;
    if (!st || !tx) return cb(new SmtpReplyError(REPLIES.localError));
    try {
      const raw = st.conn.rawAddress || address.address;
      const key = raw.toLowerCase();
      const max = tx.snapshot.settings.receiver.maxRecipients;
      if (max > 0 && !tx.recipients.has(key) && tx.recipients.size >= max) {
        this.trace(st.id, `RCPT <${raw}>: refused, maxRecipients ${max} reached`);
        return cb(new SmtpReplyError(REPLIES.tooManyRecipients));
      }
      const d = evaluateRcpt(tx.snapshot, this.policySession(st, session), tx.standing, tx.sender, raw);
      this.traceDecision(st.id, `RCPT <${raw}>`, d);
      if (!d.accept) return cb(new SmtpReplyError(d.reply ?? REPLIES.localError));
      const plan = recipientCheckPlan(tx.snapshot, this.policySession(st, session), tx.standing, d.targets);
      for (const n of plan.notes) this.trace(st.id, `  ${n}`);
      if (plan.items.length) return this.checkRecipient(st, tx, raw, d.targets, plan.items, cb);
      tx.recipients.set(key, { original: raw, targets: d.targets });
      cb();
    } catch (err) {
      this.trace(st.id, `RCPT: internal error ${errText(err)}`);
      cb(new SmtpReplyError(REPLIES.localError));
    }
  }

  /**
   * Ask the internal server about an accepted recipient's targets (SPEC 5): 5xx → the alias
   * whitelist's `550 5.1.1 … User unknown` (the server's own text only in the trace and the
   * receive log); not askable → recipientCheck.whenUnavailable.
   */
  private checkRecipient(
    st: ConnState,
    tx: Transaction,
    raw: string,
    targets: RecipientTarget[],
    items: CheckItem[],
    cb: (err?: Error | null) => void,
  ): void {
    const run = Promise.all(items.map((i) => this.checker.check(i))).then((outcomes: CheckOutcome[]) => {
      outcomes.forEach((o, n) => {
        const text = `recipient check <${items[n].address}>: ${outcomeText(o)}`;
        for (const note of o.notes) this.trace(st.id, `  ${note}`);
        this.trace(st.id, text);
        this.logs.receive(st.id, '>', `(${text})`);
      });
      if (outcomes.some((o) => o.kind === 'unknown')) return cb(new SmtpReplyError(replies.userUnknown(raw)));
      if (outcomes.some((o) => o.kind === 'unavailable') && tx.snapshot.settings.recipientCheck.whenUnavailable === 'tempfail') {
        return cb(new SmtpReplyError(replies.recipientUnverified(raw)));
      }
      tx.recipients.set(raw.toLowerCase(), { original: raw, targets });
      cb();
    });
    run.catch((err) => {
      this.trace(st.id, `RCPT: recipient check internal error ${errText(err)}`);
      cb(new SmtpReplyError(REPLIES.localError));
    });
  }

  private onData(stream: Readable, session: SMTPServerSession, cb: (err?: Error | null, message?: string) => void): void {
    const st = this.states.get(session.id);
    const tx = st?.tx;
    if (!st || !tx) {
      stream.resume();
      return cb(new SmtpReplyError(REPLIES.localError));
    }
    const recipients = recipientStates(tx);
    const authUser = typeof session.user === 'string' ? session.user : '';
    const helo = session.hostNameAppearsAs || '';
    const run = receiveMessage(stream, {
      writer: this.writer,
      limits: {
        maxMessageBytes: tx.snapshot.settings.receiver.maxMessageBytes,
        maxReceivedHeaders: tx.snapshot.settings.receiver.maxReceivedHeaders,
      },
      received: {
        helo,
        clientHostname: st.clientHostname,
        clientIp: st.clientIp,
        hostname: tx.snapshot.settings.hostname,
        esmtp: session.openingCommand === 'EHLO',
        tls: !!session.secure,
        authenticated: authUser !== '',
      },
      record: {
        from: tx.from,
        recipients,
        retries: 0,
        client: { ip: st.clientIp, helo, authUser },
        origin: 'message',
      },
      trace: (line) => this.trace(st.id, line),
    }).then((outcome) => {
      st.tx = null;
      if (outcome.ok) {
        const to = recipients.map((r) => `<${r.address}>`).join(',');
        this.trace(st.id, `queued as ${outcome.id} (${outcome.bytes} bytes, ${recipients.length} recipients)`);
        this.logs.sender(
          outcome.id,
          `received from ${st.clientIp} (${helo || '-'}${authUser ? `, auth ${authUser}` : ''}) from=<${tx.from}> to=${to} size=${outcome.bytes}`,
        );
        cb(null, queuedText(outcome.id));
      } else {
        this.trace(st.id, `message ${outcome.id ?? '(no id)'} not queued: ${outcome.why}${outcome.lost ? '' : ` -> ${formatReply(outcome.reply)}`}`);
        cb(new SmtpReplyError(outcome.reply));
      }
      // Shutting down: the message is answered; the session ends here rather than idle.
      if (this.closing && !st.conn._closing) st.conn.reply(REPLIES.shuttingDown);
    });
    const tracked = run.catch((err) => {
      this.trace(st.id, `DATA: internal error ${errText(err)}`);
      cb(new SmtpReplyError(REPLIES.localError));
    });
    this.inflight.add(tracked);
    void tracked.finally(() => this.inflight.delete(tracked));
  }

  private onClose(session: SMTPServerSession): void {
    const st = this.states.get(session.id);
    if (!st) return;
    this.states.delete(session.id);
    this.logAccept(st, false, 'closed by the client before the greeting');
    this.logs.endSession(session.id);
    this.trace(st.id, 'connection closed');
  }

  // ------------------------------------------------------------------ shutdown

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.trace(null, `shutting down: no new connections; messages in DATA get up to ${SHUTDOWN_GRACE_MS / 1000} s`);
    await this.watcher.close().catch(() => {});
    const serversClosed = Promise.all(
      this.listeners.map((l) => new Promise<void>((resolve) => l.server.close(() => resolve()))),
    );
    for (const l of this.listeners) {
      for (const c of l.server.connections) {
        const conn = c as SekishoConnection;
        // A session inside DATA (or waiting for its commit) finishes first; see onData.
        if (!conn._dataStream) conn.reply(REPLIES.shuttingDown);
      }
    }
    await Promise.race([Promise.allSettled([...this.inflight]), new Promise((r) => setTimeout(r, SHUTDOWN_GRACE_MS).unref())]);
    await serversClosed;
    // Sessions cut at the deadline abort their queue files; wait for that, then close the logs.
    await Promise.allSettled([...this.inflight]);
    // The answers learnt go to verify-cache.json, so the next start does not ask again.
    await this.checker.close();
    this.trace(null, 'stopped');
    await this.logs.close().catch(() => {});
  }
}

/**
 * The client matched a `true` / `only` IP or domain line: the admin trusts it, so it is not
 * checked against DNSBLs. (A non-matching `only` line also decides at connect; it trusts nobody.)
 */
function trustedAtConnect(snap: ConfigSnapshot, d: Decision, ip: string, hostname: string): boolean {
  const rule = d.rule && snap.effect.find((r) => r.ref.file === d.rule!.file && r.ref.line === d.rule!.line);
  if (!rule || (rule.action !== 'true' && rule.action !== 'only')) return false;
  return matchClient(rule.pattern, parseIp(ip), hostname);
}

function recipientStates(tx: Transaction): RecipientState[] {
  const out: RecipientState[] = [];
  const seen = new Set<string>();
  for (const { original, targets } of tx.recipients.values()) {
    for (const t of targets) {
      const key = t.address.toLowerCase();
      if (seen.has(key)) continue;
      seen.add(key);
      const r: RecipientState = { address: t.address, original, kind: t.kind, status: 'pending', attempts: 0, refusals: 0 };
      if (t.kind === 'local') r.user = t.user;
      out.push(r);
    }
  }
  return out;
}

/**
 * Start listening on every port of receiver.ports and receiver.implicitTlsPorts. Throws
 * ReceiverStartError (port in use, broken configuration, unreadable certificate) with
 * nothing left open.
 */
export async function startReceiver(opts: ReceiverOptions): Promise<Receiver> {
  let watcher: ConfigWatcher;
  try {
    watcher = await ConfigWatcher.start(opts.workdir);
  } catch (err) {
    if (err instanceof ConfigLoadError) throw new ReceiverStartError(err.message);
    throw err;
  }
  let logs: Logs | null = null;
  let service: ReceiverService | null = null;
  try {
    const snap = watcher.current();
    const tls = await readTls(snap);
    logs = openLogs(snap.workdir, {
      retentionDays: snap.settings.logs.retentionDays,
      onError: (err) => (opts.warn ?? ((t: string) => void process.stderr.write(`sekisho receiver: ${t}\n`)))(`log write failed: ${err.message}`),
    });
    const r = snap.settings.receiver;
    if (opts.debug) {
      for (const line of effectiveConfigLines(snap, { ports: r.ports, implicitTlsPorts: r.implicitTlsPorts, tls: !!tls })) opts.debug(line);
    }
    const warn = opts.warn ?? ((text: string) => void process.stderr.write(`sekisho receiver: ${text}\n`));
    service = new ReceiverService(snap.workdir, watcher, logs, tls, opts.debug, warn);
    await service.checker.start();
    await service.listen();
  } catch (err) {
    if (service) {
      for (const l of service.listeners) l.server.server.close();
    }
    await watcher.close().catch(() => {});
    await logs?.close().catch(() => {});
    throw err;
  }
  const s = service;
  return { ports: s.listeners.map((l) => l.port), close: () => s.close() };
}

/**
 * This process's share of a limit for the whole receiver: the kernel spreads connections
 * about evenly over the processes sharing a port (SEKISHO_RECEIVER_PROCESSES, set by the
 * primary of `sekisho receiver`). 0 stays 0 (unlimited).
 */
export function shareOf(limit: number, processes = Number(process.env.SEKISHO_RECEIVER_PROCESSES) || 1): number {
  return limit > 0 && processes > 1 ? Math.ceil(limit / processes) : limit;
}
