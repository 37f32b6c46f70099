// One SMTP transaction to one next-hop address (RFC 5321 3.3): MAIL FROM, one RCPT TO per
// recipient, DATA, with the reply to each RCPT kept per recipient and the reply to the end of
// DATA applied to every accepted recipient. Built on nodemailer's SMTPConnection, which does
// EHLO/HELO, STARTTLS (RFC 3207), AUTH (RFC 4954), PIPELINING and dot-stuffing for us.
// PIPELINING (RFC 2920): when the hop offers it, nodemailer writes MAIL, every RCPT and DATA
// in one corked write and matches the replies in order; our patch (patches/nodemailer+*.patch)
// also sends a message given whole (a Buffer: attempt.ts reads messages up to 256 KB whole) and
// its terminating dot in ONE socket write, whatever the event loop's timing (the dot-stuffed
// text is collected and written once, not piped chunk by chunk); a Readable is piped as before.
// A patch rather than a wrapper: the socket writes happen inside SMTPConnection.
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import type { Readable } from 'node:stream';
import { isIP } from 'node:net';
import type { SecureContext } from 'node:tls';

export interface HopTarget {
  /** IP address to connect to (already resolved, so loop detection saw it). */
  address: string;
  port: number;
  /** The name the hop was known by (gateway.dat host, MX name), for SNI and logs. */
  hostname: string;
}

export interface ClientOptions {
  /** Our name in EHLO (settings.hostname). */
  helo: string;
  connectTimeoutMs: number;
  replyTimeoutMs: number;
  auth?: { user: string; pass: string };
  /** RFC 3207: STARTTLS when offered; the certificate is not checked unless asked (SPEC 8;
   * delivery.tlsVerify). A certificate that fails the check is a temporary failure. */
  rejectUnauthorized?: boolean;
  /** RFC 3207 section 4 (delivery.tlsRequire): STARTTLS or nothing. A hop that does not offer
   * it, or refuses it, is a temporary failure, never a plaintext delivery. */
  requireTLS?: boolean;
  /** CAs trusted by rejectUnauthorized beyond Node's own list (delivery.tlsCaFile), built once;
   * `id` tells connections verified against different bundles apart (pool key). */
  trustedCa?: { id: string; context: SecureContext };
  /** The TLS settings cannot be applied (an unusable tlsCaFile): every connection fails at once
   * with this reason, temporarily, instead of connecting with less checking than asked for. */
  tlsError?: string;
  /** The --debug trace: every command we send (`>`) and reply we get (`<`); nodemailer masks
   * AUTH secrets in what it logs. */
  trace?: (line: string) => void;
}

/** Where a connection's trace goes; replaced when a pooled connection serves another message. */
interface TraceTarget {
  fn?: (line: string) => void;
}

/** A bunyan-shaped logger that turns nodemailer's transaction log into trace lines. */
function traceLogger(label: string, target: TraceTarget) {
  const emit = (entry: { tnx?: string } | undefined, message: string, ...args: unknown[]) => {
    if (!target.fn || (entry?.tnx !== 'client' && entry?.tnx !== 'server')) return;
    const text = args.length ? message.replace(/%s/g, () => String(args.shift())) : message;
    for (const line of String(text).split(/\r?\n/)) target.fn(`${label} ${entry.tnx === 'client' ? '>' : '<'} ${line}`);
  };
  return { trace: emit, debug: emit, info: emit, warn: emit, error: emit, fatal: emit };
}

/**
 * What happened to one recipient in this transaction.
 * - `ok`: 2xx to RCPT and to the end of DATA.
 * - `temp` / `perm`: the hop answered 4xx / 5xx (to MAIL, RCPT or DATA).
 * - `noanswer`: no connection, no greeting, timeout or a dropped connection.
 */
export type RecipientResultKind = 'ok' | 'temp' | 'perm' | 'noanswer';

export interface RecipientResult {
  address: string;
  kind: RecipientResultKind;
  /** The remote reply as one line (`550 5.1.1 <x@y>: User unknown`), or an error text. */
  reply: string;
}

export interface TransactionResult {
  /** `host[ip]:port` of the hop that answered. */
  hostLabel: string;
  /** Every recipient, in the order given. */
  recipients: RecipientResult[];
  /** Whether the connection may carry another transaction (pool). */
  reusable: boolean;
  /** True when a TLS session was used. */
  tls: boolean;
}

export function hostLabel(t: HopTarget): string {
  const ip = isIP(t.address) === 6 ? `[${t.address}]` : t.address;
  return t.hostname && t.hostname !== t.address ? `${t.hostname}[${t.address}]:${t.port}` : `${ip}:${t.port}`;
}

/** A reply may span lines (RFC 5321 4.2.1); keep it on one line for logs and bounces. */
export function oneLine(text: string): string {
  return text.replace(/\r?\n/g, ' ').replace(/\s+/g, ' ').trim();
}

function classify(code: number | false | undefined): RecipientResultKind {
  if (!code) return 'noanswer';
  if (code >= 200 && code < 300) return 'ok';
  if (code >= 400 && code < 500) return 'temp';
  return 'perm';
}

interface SmtpError extends Error {
  code?: string;
  /** nodemailer keeps the system/TLS error code here when it sets its own `code`. */
  originalCode?: string;
  command?: string;
  response?: string;
  responseCode?: number;
  recipient?: string;
  rejectedErrors?: SmtpError[];
}

function errorReply(err: SmtpError): string {
  if (err.response) return oneLine(err.response);
  return `${err.code ?? 'ERROR'} ${oneLine(err.message)}`;
}

/** OpenSSL / Node codes of a certificate that failed verification (X509_V_ERR_*, tls.checkServerIdentity). */
const CERT_ERRORS = new Set([
  'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE', 'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY', 'CERT_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID', 'CERT_HAS_EXPIRED', 'ERROR_IN_CERT_NOT_BEFORE_FIELD', 'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'CERT_CHAIN_TOO_LONG', 'CERT_REVOKED', 'INVALID_CA',
  'PATH_LENGTH_EXCEEDED', 'INVALID_PURPOSE', 'CERT_UNTRUSTED', 'CERT_REJECTED', 'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * A failure the TLS settings asked for, as a temporary error with a reason an administrator can
 * act on (it is retried, never bounced at once): a certificate that fails verification, or a
 * hop that will not do STARTTLS when TLS is required. nodemailer reports the latter as `ETLS`
 * with the server's 5xx to STARTTLS, which would otherwise read as a refusal of the message.
 */
function tlsFailure(err: SmtpError, conn: SMTPConnection, target: HopTarget, opts: ClientOptions): HopError | null {
  const name = target.hostname || target.address;
  if (opts.rejectUnauthorized && CERT_ERRORS.has(err.originalCode ?? err.code ?? '')) {
    return new HopError('temp', `TLS certificate of ${name} not trusted: ${oneLine(err.message.replace(/^Error initiating TLS - /, ''))}`);
  }
  if (!opts.requireTLS) return null;
  if (err.code === 'ETLS' && err.command === 'STARTTLS' && err.response) {
    // The EHLO reply the STARTTLS was sent after (requireTLS sends it even when not offered).
    const ehlo = (conn as unknown as { _plaintextEhlo?: string | false })._plaintextEhlo;
    return new HopError(
      'temp',
      typeof ehlo === 'string' && !/[ -]STARTTLS\b/im.test(ehlo)
        ? `TLS required but not offered by ${name} (STARTTLS answered: ${oneLine(err.response)})`
        : `TLS required but ${name} refused STARTTLS: ${oneLine(err.response)}`,
    );
  }
  if (err.command === 'EHLO' && /STARTTLS/.test(err.message)) {
    return new HopError('temp', `TLS required but not offered by ${name} (EHLO refused: ${oneLine(err.response ?? err.message)})`);
  }
  return null;
}

/** An open, greeted (and authenticated) connection to one hop. */
export class HopConnection {
  private readonly conn: SMTPConnection;
  private closed = false;
  readonly target: HopTarget;
  readonly label: string;

  private readonly traceTarget: TraceTarget;

  private constructor(conn: SMTPConnection, target: HopTarget, traceTarget: TraceTarget) {
    this.conn = conn;
    this.traceTarget = traceTarget;
    this.target = target;
    this.label = hostLabel(target);
    const markClosed = () => {
      this.closed = true;
    };
    conn.on('end', markClosed);
    conn.on('error', markClosed);
  }

  get usable(): boolean {
    return !this.closed && !(this.conn as unknown as { _destroyed?: boolean })._destroyed;
  }

  get secure(): boolean {
    return this.conn.secure;
  }

  /** Send the trace of the next transactions to `fn` (a pooled connection's new owner). */
  retrace(fn: ((line: string) => void) | undefined): void {
    this.traceTarget.fn = fn;
  }

  /**
   * Connect, read the greeting, EHLO, STARTTLS when offered, AUTH when configured.
   * Rejects with a RecipientResult-like error: kind 'noanswer' for network trouble,
   * 'temp'/'perm' when the hop answered with a failure code.
   */
  static open(target: HopTarget, opts: ClientOptions): Promise<HopConnection> {
    return new Promise((resolve, reject) => {
      if (opts.tlsError) return reject(new HopError('temp', opts.tlsError));
      const traceTarget: TraceTarget = { fn: opts.trace };
      const conn = new SMTPConnection({
        host: target.address,
        port: target.port,
        name: opts.helo,
        servername: isIP(target.hostname) ? undefined : target.hostname,
        // nodemailer's connectionTimeout also bounds the wait for the greeting (RFC 5321
        // 4.5.3.2.1 suggests 5 minutes for it); give it both budgets.
        connectionTimeout: opts.connectTimeoutMs + opts.replyTimeoutMs,
        greetingTimeout: opts.replyTimeoutMs,
        socketTimeout: opts.replyTimeoutMs,
        socketCloseTimeout: 1000,
        opportunisticTLS: !opts.requireTLS,
        requireTLS: !!opts.requireTLS,
        tls: { rejectUnauthorized: opts.rejectUnauthorized ?? false, ...(opts.trustedCa ? { secureContext: opts.trustedCa.context } : {}) },
        allowInternalNetworkInterfaces: true,
        logger: opts.trace ? traceLogger(hostLabel(target), traceTarget) : false,
        transactionLog: !!opts.trace,
      });
      let settled = false;
      const fail = (err: SmtpError) => {
        if (settled) return;
        settled = true;
        const tlsError = tlsFailure(err, conn, target, opts); // reads the session state: before close()
        try {
          conn.close();
        } catch {
          /* already closed */
        }
        reject(tlsError ?? new HopError(classify(err.responseCode), errorReply(err)));
      };
      conn.once('error', fail);
      conn.connect((err) => {
        if (err) return fail(err as SmtpError);
        const done = () => {
          if (settled) return;
          settled = true;
          conn.removeListener('error', fail);
          // Errors after this point are reported through send(); keep one listener so an
          // idle pooled connection that drops does not become an unhandled 'error'.
          conn.on('error', () => {});
          resolve(new HopConnection(conn, target, traceTarget));
        };
        if (!opts.auth || !opts.auth.user) return done();
        conn.login({ user: opts.auth.user, pass: opts.auth.pass }, (authErr) => {
          if (authErr) return fail(authErr as SmtpError);
          done();
        });
      });
    });
  }

  /** One transaction: MAIL FROM:<from>, RCPT TO each, DATA with the message stream. */
  send(from: string, recipients: string[], size: number, message: () => Readable | Buffer): Promise<TransactionResult> {
    return new Promise((resolve) => {
      const stream = message();
      const label = this.label;
      const tls = this.secure;
      this.conn.send(
        { from: from || false, to: recipients, size, use8BitMime: true },
        stream,
        (err, info) => {
          if (err) {
            const e = err as SmtpError;
            if (!Buffer.isBuffer(stream)) stream.destroy();
            const perRcpt = new Map<string, RecipientResult>();
            for (const r of e.rejectedErrors ?? []) {
              if (r.recipient) perRcpt.set(r.recipient, { address: r.recipient, kind: classify(r.responseCode), reply: errorReply(r) });
            }
            const common: RecipientResult['kind'] = classify(e.responseCode);
            const results = recipients.map(
              (a) => perRcpt.get(a) ?? { address: a, kind: common, reply: errorReply(e) },
            );
            // After a failed transaction the session state is unknown: never reuse it.
            this.close();
            resolve({ hostLabel: label, recipients: results, reusable: false, tls });
            return;
          }
          const rejected = new Map<string, RecipientResult>();
          for (const r of (info?.rejectedErrors ?? []) as SmtpError[]) {
            if (r.recipient) rejected.set(r.recipient, { address: r.recipient, kind: classify(r.responseCode), reply: errorReply(r) });
          }
          const accepted = new Set(info?.accepted ?? []);
          const reply = oneLine(info?.response ?? '250 OK');
          const results = recipients.map<RecipientResult>((a) => {
            if (rejected.has(a)) return rejected.get(a)!;
            if (accepted.has(a)) return { address: a, kind: 'ok', reply };
            return { address: a, kind: 'noanswer', reply: 'no reply for this recipient' };
          });
          resolve({ hostLabel: label, recipients: results, reusable: this.usable, tls });
        },
      );
    });
  }

  /** Polite end of session (RFC 5321 4.1.1.10). */
  quit(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.conn.quit();
    } catch {
      /* ignore */
    }
    // nodemailer closes the socket on the 221; make sure it also goes when the peer is silent.
    setTimeout(() => this.close(), 1000).unref();
  }

  close(): void {
    this.closed = true;
    try {
      this.conn.close();
    } catch {
      /* ignore */
    }
  }
}

/** A failure before any transaction: no connection, bad greeting, EHLO/AUTH refused. */
export class HopError extends Error {
  constructor(
    readonly kind: RecipientResultKind,
    readonly reply: string,
  ) {
    super(reply);
  }
}
