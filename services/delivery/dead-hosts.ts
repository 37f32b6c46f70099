// Hosts that just could not be reached (no TCP connection, no greeting) are not tried again by
// every other message for a short while: with a LAN server down and a thousand messages
// queued, each would otherwise wait a whole connect timeout. Postfix keeps the same kind of
// memory. The period is short (at most one retry interval, at most a minute), so a host that
// comes back is used again at the next retry at the latest.
const MAX_MS = 60_000;

export class DeadHosts {
  private readonly until = new Map<string, { at: number; reason: string }>();

  private key(address: string, port: number): string {
    return `${address}|${port}`;
  }

  markDown(address: string, port: number, reason: string, retryIntervalSec: number, now = Date.now()): void {
    const ms = Math.min(MAX_MS, Math.max(1, retryIntervalSec) * 1000);
    this.until.set(this.key(address, port), { at: now + ms, reason });
    if (this.until.size > 10_000) this.prune(now);
  }

  /** The reason the host was found down, while it is still considered down. */
  down(address: string, port: number, now = Date.now()): string | null {
    const k = this.key(address, port);
    const e = this.until.get(k);
    if (!e) return null;
    if (e.at <= now) {
      this.until.delete(k);
      return null;
    }
    return e.reason;
  }

  markUp(address: string, port: number): void {
    this.until.delete(this.key(address, port));
  }

  private prune(now: number): void {
    for (const [k, e] of this.until) if (e.at <= now) this.until.delete(k);
  }
}
