// Forward-confirmed reverse DNS (FCrDNS, RFC 8601 section 2.7.3 "iprev"): the PTR name of the
// client counts only when that name resolves back to the client's address. effect.dat
// domain patterns match this name (SPEC 6), so an unconfirmed PTR, which anyone who owns an
// IP block can set to any name, must never reach the policy.
import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';

export interface ReverseResult {
  /** Lower-case confirmed name, '' when none. */
  hostname: string;
  /** What happened, for the debug trace. */
  note: string;
}

const MAX_NAMES = 5;

export function isLoopback(ip: string): boolean {
  return ip === '::1' || /^127\./.test(ip);
}

function validName(name: string): boolean {
  return name.length <= 253 && /^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/.test(name);
}

function sameAddress(a: string, b: string): boolean {
  if (a === b) return true;
  // IPv6 text forms differ (zero compression, case); compare the expanded form.
  return isIP(a) === 6 && isIP(b) === 6 && expand6(a) === expand6(b);
}

function expand6(ip: string): string {
  const [head, tail = ''] = ip.toLowerCase().split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const fill = ip.includes('::') ? new Array(8 - h.length - t.length).fill('0') : [];
  return [...h, ...fill, ...t].map((g) => g.padStart(4, '0')).join(':');
}

/**
 * Look up the client's confirmed name within `timeoutMs` (a slow DNS must not hold the
 * greeting for long). Loopback clients are not looked up. Never throws.
 */
export async function forwardConfirmedName(
  ip: string,
  opts: { timeoutMs?: number; servers?: string[] } = {},
): Promise<ReverseResult> {
  if (isLoopback(ip)) return { hostname: '', note: 'reverse DNS skipped for loopback' };
  const family = isIP(ip);
  if (!family) return { hostname: '', note: `reverse DNS skipped: ${ip} is not an IP address` };
  const timeoutMs = opts.timeoutMs ?? 3000;
  const resolver = new Resolver({ timeout: timeoutMs, tries: 1 });
  let serversNote = '';
  if (opts.servers?.length) {
    try {
      resolver.setServers(opts.servers);
    } catch (err) {
      // A typo in dnsServers must not refuse every client: fall back to the system's servers.
      serversNote = ` (dnsServers ${JSON.stringify(opts.servers)} unusable: ${(err as Error).message}; system resolver used)`;
    }
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<ReverseResult>((resolve) => {
    timer = setTimeout(() => {
      resolver.cancel();
      resolve({ hostname: '', note: `reverse DNS for ${ip} timed out after ${timeoutMs} ms` });
    }, timeoutMs);
    timer.unref();
  });
  const lookup = (async (): Promise<ReverseResult> => {
    let names: string[];
    try {
      names = await resolver.reverse(ip);
    } catch (err) {
      return { hostname: '', note: `no reverse DNS for ${ip} (${(err as NodeJS.ErrnoException).code ?? err})` };
    }
    for (const raw of names.slice(0, MAX_NAMES)) {
      const name = raw.toLowerCase().replace(/\.$/, '');
      if (!validName(name)) continue;
      try {
        const addrs = family === 4 ? await resolver.resolve4(name) : await resolver.resolve6(name);
        if (addrs.some((a) => sameAddress(a, ip))) {
          return { hostname: name, note: `reverse DNS ${ip} -> ${name}, confirmed` };
        }
      } catch {
        // try the next PTR name
      }
    }
    return { hostname: '', note: `reverse DNS ${ip} -> ${names.join(',') || '(none)'} not confirmed by forward lookup` };
  })();
  try {
    const r = await Promise.race([lookup, timeout]);
    return serversNote ? { ...r, note: r.note + serversNote } : r;
  } finally {
    clearTimeout(timer);
  }
}
