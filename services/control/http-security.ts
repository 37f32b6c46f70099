// The guards of the control HTTP server. The API can change relay rules and passwords, so a
// web page the administrator happens to visit must never be able to call it:
// - no CORS headers, and a request carrying a foreign Origin is refused (CSRF);
// - without a password the server only answers Host names that are loopback literals, so a
//   DNS-rebinding page (evil.example resolving to 127.0.0.1) gets nothing;
// - with a password, or when serve runs with --require-auth (the installed Windows service),
//   every /api call needs the session cookie (HttpOnly, SameSite=Strict) or
//   `Authorization: Bearer <password or control secret>`; comparisons are timing-safe.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** Timing-safe string equality (hashing first makes the lengths equal). */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(sha256(a), sha256(b));
}

export function isLoopback(address: string): boolean {
  const a = address.replace(/^\[|\]$/g, '').toLowerCase();
  if (a === 'localhost' || a.endsWith('.localhost')) return true;
  if (a === '::1') return true;
  if (a.startsWith('::ffff:')) return isLoopback(a.slice(7));
  return isIP(a) === 4 && a.startsWith('127.');
}

/** The host name of a Host header, without the port; '' when absent. */
export function hostName(hostHeader: string | undefined): string {
  if (!hostHeader) return '';
  const h = hostHeader.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  const colon = h.lastIndexOf(':');
  return colon >= 0 ? h.slice(0, colon) : h;
}

/**
 * Without a password, only answer Host names that cannot be an attacker's DNS name:
 * loopback names, or the literal address the server is bound to.
 */
export function hostAllowed(hostHeader: string | undefined, bind: string, passwordSet: boolean): boolean {
  if (passwordSet) return true;
  const name = hostName(hostHeader);
  if (!name) return false;
  if (isLoopback(name)) return true;
  const bare = name.replace(/^\[|\]$/g, '');
  return isIP(bare) !== 0 && bare === bind.toLowerCase() && bind !== '0.0.0.0' && bind !== '::';
}

/**
 * CSRF: a browser names the page's origin in Origin on every cross-origin request and on
 * same-origin POSTs. Present and not ours: refuse. Absent: not a browser's cross-site call.
 */
export function originAllowed(req: IncomingMessage): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site === 'cross-site' || site === 'same-site') return false;
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  const host = req.headers.host;
  if (!host) return false;
  return origin.toLowerCase() === `http://${host.toLowerCase()}`;
}

export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    out.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return out;
}

export function bearerToken(req: IncomingMessage): string | null {
  const h = req.headers.authorization;
  if (!h) return null;
  const m = /^Bearer\s+(.+)$/i.exec(h.trim());
  return m ? m[1] : null;
}

interface Session {
  /**
   * Hash of the credential the session was opened with (the password or the control secret):
   * a session lives only while that credential is still accepted, so changing the password
   * ends the sessions opened with it.
   */
  passwordHash: Buffer;
  lastSeen: number;
}

/** Login sessions in memory (a restart of `serve` logs everyone out, which is fine). */
export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly idleMs = 12 * 60 * 60 * 1000,
    private readonly maxSessions = 1000,
  ) {}

  /** A new random token for a client that proved the password (or the control secret). */
  open(password: string): string {
    this.prune();
    if (this.sessions.size >= this.maxSessions) {
      const oldest = [...this.sessions.entries()].sort((a, b) => a[1].lastSeen - b[1].lastSeen)[0];
      if (oldest) this.sessions.delete(oldest[0]);
    }
    const token = randomBytes(32).toString('base64url');
    // Stored by hash: the map holds nothing a memory dump could replay.
    this.sessions.set(sha256(token).toString('hex'), { passwordHash: sha256(password), lastSeen: Date.now() });
    return token;
  }

  /** Whether the token is a live session opened with one of `accepted` (the credentials valid now). */
  valid(token: string, accepted: string | string[]): boolean {
    const key = sha256(token).toString('hex');
    const s = this.sessions.get(key);
    if (!s) return false;
    const still = (Array.isArray(accepted) ? accepted : [accepted]).some((c) => c !== '' && timingSafeEqual(s.passwordHash, sha256(c)));
    if (Date.now() - s.lastSeen > this.idleMs || !still) {
      this.sessions.delete(key);
      return false;
    }
    s.lastSeen = Date.now();
    return true;
  }

  close(token: string): void {
    this.sessions.delete(sha256(token).toString('hex'));
  }

  private prune(): void {
    const now = Date.now();
    for (const [k, s] of this.sessions) if (now - s.lastSeen > this.idleMs) this.sessions.delete(k);
  }
}

/** Slows password guessing: after `limit` failures from one address in `windowMs`, refuse until the window passes. */
export class LoginThrottle {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly limit = 10,
    private readonly windowMs = 60_000,
  ) {}

  blocked(address: string): boolean {
    return this.recent(address).length >= this.limit;
  }

  fail(address: string): void {
    const list = this.recent(address);
    list.push(Date.now());
    this.failures.set(address, list);
    if (this.failures.size > 10_000) this.failures.clear();
  }

  succeed(address: string): void {
    this.failures.delete(address);
  }

  private recent(address: string): number[] {
    const now = Date.now();
    return (this.failures.get(address) ?? []).filter((t) => now - t < this.windowMs);
  }
}
