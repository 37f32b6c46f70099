// Idle SMTP connections kept per next hop, so consecutive messages to the same server reuse
// one session instead of paying TCP + greeting + EHLO + STARTTLS each time (what Postfix's
// connection cache does). A connection is only put back after a clean transaction, and is
// closed after IDLE_MS without use or MAX_USES transactions.
import { HopConnection, type ClientOptions, type HopTarget } from './smtp-client.js';

const IDLE_MS = 5_000;
const MAX_IDLE_PER_HOP = 16;
const MAX_USES = 100;

interface Idle {
  conn: HopConnection;
  timer: NodeJS.Timeout;
  uses: number;
}

export interface Lease {
  conn: HopConnection;
  /** True when the connection came from the pool (a stale one may fail at once). */
  reused: boolean;
  uses: number;
}

export class HopPool {
  private readonly idle = new Map<string, Idle[]>();
  private closed = false;

  private key(t: HopTarget, opts: ClientOptions): string {
    // The TLS options too: a session opened without checking the certificate (or against
    // another CA bundle, or without requiring TLS) must never serve one that asks for more.
    const tls = `${opts.rejectUnauthorized ? 'v' : '-'}${opts.requireTLS ? 'r' : '-'}|${opts.trustedCa?.id ?? (opts.tlsError ? '!' : '')}`;
    return `${t.address}|${t.port}|${opts.helo}|${opts.auth?.user ?? ''}|${tls}`;
  }

  async acquire(target: HopTarget, opts: ClientOptions): Promise<Lease> {
    const list = this.idle.get(this.key(target, opts));
    while (list && list.length) {
      const item = list.pop()!;
      clearTimeout(item.timer);
      if (item.conn.usable) {
        item.conn.retrace(opts.trace);
        return { conn: item.conn, reused: true, uses: item.uses };
      }
      item.conn.close();
    }
    return { conn: await HopConnection.open(target, opts), reused: false, uses: 0 };
  }

  release(lease: Lease, opts: ClientOptions, reusable: boolean): void {
    const uses = lease.uses + 1;
    if (this.closed || !reusable || !lease.conn.usable || uses >= MAX_USES) {
      lease.conn.quit();
      return;
    }
    const key = this.key(lease.conn.target, opts);
    const list = this.idle.get(key) ?? [];
    if (list.length >= MAX_IDLE_PER_HOP) {
      lease.conn.quit();
      return;
    }
    const item: Idle = {
      conn: lease.conn,
      uses,
      timer: setTimeout(() => {
        const l = this.idle.get(key);
        const i = l?.indexOf(item) ?? -1;
        if (l && i >= 0) l.splice(i, 1);
        item.conn.quit();
      }, IDLE_MS),
    };
    item.timer.unref();
    list.push(item);
    this.idle.set(key, list);
  }

  closeAll(): void {
    this.closed = true;
    for (const list of this.idle.values()) {
      for (const item of list) {
        clearTimeout(item.timer);
        item.conn.quit();
      }
    }
    this.idle.clear();
  }
}
