// Real servers on loopback for delivery tests: an smtp-server sink that records what arrives
// and can answer RCPT/DATA with scripted codes, a TCP server that accepts and never answers,
// a tiny UDP DNS responder, and Debian's smtp-sink as a child process.
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { createServer, Socket as NetSocket, type Server, type Socket, type AddressInfo } from 'node:net';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { spawn, type ChildProcess } from 'node:child_process';
import { decodeQuery, encodeResponse, TYPE, type AnswerRecord } from '../../../../services/delivery/dns-wire.js';

export interface Received {
  from: string;
  to: string[];
  data: Buffer;
  secure: boolean;
  user?: string;
}

export interface SinkOptions {
  /** Answer for a RCPT TO address: null = accept; else `{ code, message }`. */
  rcpt?: (address: string) => { code: number; message: string } | null;
  /** Answer for the end of DATA: null = 250. */
  data?: (n: number) => { code: number; message: string } | null;
  /** Require AUTH with this user/password. */
  auth?: { user: string; pass: string };
  /** Wait this long before answering the end of DATA (an attempt in flight). */
  dataDelayMs?: number;
  /** Offer STARTTLS (smtp-server's built-in self-signed certificate). */
  starttls?: boolean;
  /** PEM key and certificate for STARTTLS instead of the built-in one (helpers/tls.ts). */
  tls?: { key: Buffer; cert: Buffer };
}

export interface Sink {
  port: number;
  received: Received[];
  connections: number;
  close(): Promise<void>;
  /** Resolve when `n` messages arrived, reject after `ms`. */
  waitFor(n: number, ms?: number): Promise<void>;
}

function smtpError(code: number, message: string): Error {
  const e = new Error(message) as Error & { responseCode: number };
  e.responseCode = code;
  return e;
}

export async function startSink(opts: SinkOptions = {}): Promise<Sink> {
  const received: Received[] = [];
  let dataCount = 0;
  const waiters: Array<() => void> = [];
  const state = { connections: 0 };
  const options: SMTPServerOptions = {
    authOptional: !opts.auth,
    disabledCommands: [...(opts.starttls ? [] : ['STARTTLS']), ...(opts.auth ? [] : ['AUTH'])],
    allowInsecureAuth: true,
    logger: false,
    hideSTARTTLS: !opts.starttls,
    size: 0,
    ...(opts.tls ? { key: opts.tls.key, cert: opts.tls.cert } : {}),
    onConnect(_s, cb) {
      state.connections++;
      cb();
    },
    onAuth(auth, _s, cb) {
      if (opts.auth && auth.username === opts.auth.user && auth.password === opts.auth.pass) return cb(null, { user: auth.username });
      cb(smtpError(535, 'Authentication failed'));
    },
    onRcptTo(addr, _s, cb) {
      const r = opts.rcpt?.(addr.address);
      if (r) return cb(smtpError(r.code, r.message));
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        dataCount++;
        const r = opts.data?.(dataCount);
        if (r) return cb(smtpError(r.code, r.message));
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((t) => t.address),
          data: Buffer.concat(chunks),
          secure: session.secure,
          user: session.user as string | undefined,
        });
        for (const w of waiters.splice(0)) w();
        if (opts.dataDelayMs) setTimeout(() => cb(), opts.dataDelayMs);
        else cb();
      });
    },
  };
  const server = new SMTPServer(options);
  server.on('error', () => {});
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = ((server as unknown as { server: Server }).server.address() as AddressInfo).port;
  return {
    port,
    received,
    get connections() {
      return state.connections;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
    waitFor(n, ms = 10_000) {
      return new Promise<void>((resolve, reject) => {
        const deadline = setTimeout(() => reject(new Error(`sink: ${received.length}/${n} messages after ${ms} ms`)), ms);
        const check = () => {
          if (received.length >= n) {
            clearTimeout(deadline);
            resolve();
          } else waiters.push(check);
        };
        check();
      });
    },
  };
}

/** Accepts TCP connections and never says a word (the "no answer" case). */
export async function startSilent(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** A port nobody listens on (bound, then closed). */
export async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

export interface DnsZone {
  /** name -> records (MX data = exchange, A/AAAA data = address). */
  [name: string]: Array<{ type: 'A' | 'AAAA' | 'MX'; data: string; priority?: number; ttl?: number }>;
}

/** A UDP DNS responder on 127.0.0.1: answers from `zone`, NXDOMAIN for unknown names,
 * NODATA for a known name without records of the asked type. Counts queries. */
export async function startDns(zone: DnsZone): Promise<{ server: string; queries: Array<{ name: string; type: number }>; close(): Promise<void> }> {
  const sock: UdpSocket = createSocket('udp4');
  const queries: Array<{ name: string; type: number }> = [];
  sock.on('message', (msg, rinfo) => {
    let q;
    try {
      q = decodeQuery(msg);
    } catch {
      return;
    }
    queries.push({ name: q.name, type: q.type });
    const recs = zone[q.name];
    if (!recs) return sock.send(encodeResponse(q, 3, []), rinfo.port, rinfo.address);
    const answers: AnswerRecord[] = recs
      .filter((r) => TYPE[r.type] === q.type)
      .map((r) => ({ name: q.name, type: TYPE[r.type], ttl: r.ttl ?? 300, data: r.data, priority: r.priority }));
    sock.send(encodeResponse(q, 0, answers), rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  return {
    server: `127.0.0.1:${sock.address().port}`,
    queries,
    close: () => new Promise<void>((r) => sock.close(() => r())),
  };
}

/** Debian/Postfix smtp-sink writing each message to `dir/<n>.` files (man smtp-sink, -d). */
export async function startSmtpSink(dir: string, port: number): Promise<{ child: ChildProcess; close(): Promise<void> }> {
  // -u is required (only) when running as root: it names the user to switch to.
  const user = process.getuid?.() === 0 ? ['-u', 'root'] : [];
  const child = spawn('/usr/sbin/smtp-sink', [...user, '-d', `${dir}/%M.`, `127.0.0.1:${port}`, '100'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  // Wait until it listens (bounded).
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((r) => {
      const s = new NetSocket();
      s.once('connect', () => {
        s.destroy();
        r(true);
      });
      s.once('error', () => r(false));
      s.connect(port, '127.0.0.1');
    });
    if (ok) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    child,
    close: () =>
      new Promise<void>((r) => {
        if (child.exitCode !== null) return r();
        child.once('exit', () => r());
        child.kill('SIGTERM');
      }),
  };
}
