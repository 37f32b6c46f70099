// Free loopback ports: ask the kernel for port 0, read the number back, close.
import { createServer, connect } from 'node:net';
import { sleep } from './procs.js';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Wait until something on 127.0.0.1:port sends an SMTP banner (`220`). */
export async function waitForBanner(port: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      let buf = '';
      const done = (v: boolean) => {
        s.destroy();
        resolve(v);
      };
      s.setTimeout(2000, () => done(false));
      s.on('data', (d) => {
        buf += d;
        if (buf.includes('\n')) {
          last = buf.trim();
          s.write('QUIT\r\n');
          done(buf.startsWith('220'));
        }
      });
      s.on('error', (e) => {
        last = e.message;
        done(false);
      });
    });
    if (ok) return;
    await sleep(200);
  }
  throw new Error(`no SMTP banner on 127.0.0.1:${port} within ${timeoutMs} ms (last: ${last})`);
}
