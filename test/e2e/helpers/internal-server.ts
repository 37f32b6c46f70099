// An "internal mail server that knows its users" for recipient verification tests (issue 15):
// smtp-server on loopback, RCPT TO of a listed user → 250, anything else → 550 5.1.1 (as
// Exchange or Postfix with relay_recipient_maps answer). Counts connections, RCPT questions and
// the most RCPTs answered at once; an optional delay keeps each RCPT in flight for a while.
import { SMTPServer } from 'smtp-server';
import type { AddressInfo, Server } from 'node:net';

export interface InternalServer {
  port: number;
  /** Connections accepted since start. */
  connections: number;
  /** Connections open now. */
  open: number;
  /** RCPT TO addresses asked, in order. */
  rcpts: string[];
  /** RCPTs being answered now / the most at once. */
  rcptInFlight: number;
  maxRcptInFlight: number;
  /** Messages received: envelope recipients and data. */
  messages: Array<{ to: string[]; data: string }>;
  close(): Promise<void>;
}

export async function startInternalServer(opts: { users: string[]; rcptDelayMs?: number; port?: number }): Promise<InternalServer> {
  const users = new Set(opts.users.map((u) => u.toLowerCase()));
  const s: Omit<InternalServer, 'close' | 'port'> = { connections: 0, open: 0, rcpts: [], rcptInFlight: 0, maxRcptInFlight: 0, messages: [] };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    hideSTARTTLS: true,
    logger: false,
    closeTimeout: 2000,
    onConnect(_session, cb) {
      s.connections++;
      s.open++;
      cb();
    },
    onClose() {
      s.open--;
    },
    onRcptTo(addr, _session, cb) {
      s.rcpts.push(addr.address);
      s.rcptInFlight++;
      s.maxRcptInFlight = Math.max(s.maxRcptInFlight, s.rcptInFlight);
      const answer = () => {
        s.rcptInFlight--;
        if (users.has(addr.address.toLowerCase())) return cb();
        const e = new Error(`<${addr.address}>: mailbox unavailable (internal server)`) as Error & { responseCode: number };
        e.responseCode = 550;
        cb(e);
      };
      if (opts.rcptDelayMs) setTimeout(answer, opts.rcptDelayMs);
      else answer();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        s.messages.push({ to: session.envelope.rcptTo.map((r) => r.address), data: Buffer.concat(chunks).toString('latin1') });
        cb();
      });
    },
  });
  server.on('error', () => {});
  await new Promise<void>((r) => server.listen(opts.port ?? 0, '127.0.0.1', r));
  const port = ((server as unknown as { server: Server }).server.address() as AddressInfo).port;
  return Object.assign(s, {
    port,
    close: () => new Promise<void>((r) => server.close(() => r())),
  }) as InternalServer;
}
