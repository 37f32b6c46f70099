// A raw SMTP server on loopback that answers from a script, for what smtp-server will not do:
// drop the connection in the middle of a pipelined batch, answer 421 to one RCPT. It records
// every read (what arrived together) and every command line.
import { createServer, type Socket, type AddressInfo } from 'node:net';

export interface ScriptedOptions {
  /** Offer PIPELINING in the EHLO reply (RFC 2920). */
  pipelining?: boolean;
  /**
   * The reply to one command line (EHLO, DATA and the end of data have defaults): a reply
   * string, 'drop' to close the connection at that point without answering, or null for the
   * default (250 for MAIL/RCPT/RSET/NOOP, 354 for DATA, 250 for the message, 221 for QUIT).
   */
  answer?: (line: string, n: number) => string | 'drop' | null;
}

export interface Scripted {
  port: number;
  /** Each read the server got, as text. */
  reads: string[];
  /** Each command line (the message text itself not included). */
  commands: string[];
  /** Message texts received (without the terminating dot line). */
  messages: string[];
  close(): Promise<void>;
}

export async function startScripted(o: ScriptedOptions = {}): Promise<Scripted> {
  const reads: string[] = [];
  const commands: string[] = [];
  const messages: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    let buf = '';
    let inData = false;
    let data = '';
    let n = 0;
    s.write('220 scripted.test ESMTP\r\n');
    s.on('data', (d: Buffer) => {
      const text = d.toString('latin1');
      reads.push(text);
      buf += text;
      let out = '';
      let i: number;
      while ((i = buf.indexOf('\r\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            messages.push(data);
            data = '';
            out += '250 2.0.0 queued\r\n';
          } else data += (line.startsWith('.') ? line.slice(1) : line) + '\r\n';
          continue;
        }
        commands.push(line);
        const verb = line.split(' ')[0]!.toUpperCase();
        const scripted = o.answer?.(line, n++) ?? null;
        if (scripted === 'drop') {
          if (out) s.write(out);
          s.destroy();
          return;
        }
        if (scripted) {
          out += scripted + '\r\n';
          if (scripted.startsWith('421')) {
            s.end(out);
            return;
          }
          continue;
        }
        if (verb === 'EHLO') out += `250-scripted.test\r\n${o.pipelining ? '250-PIPELINING\r\n' : ''}250 8BITMIME\r\n`;
        else if (verb === 'DATA') {
          inData = true;
          out += '354 go ahead\r\n';
        } else if (verb === 'QUIT') {
          s.end(out + '221 bye\r\n');
          return;
        } else out += '250 2.0.0 ok\r\n';
      }
      if (out) s.write(out);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    reads,
    commands,
    messages,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
