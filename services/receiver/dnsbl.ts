// DNS blocklists at connect (settings receiver.dnsbl; RFC 5782): the client's address, octets
// (IPv4) or nibbles (IPv6) reversed, is looked up as an A record under each zone; an answer in
// 127.0.0.0/8 means listed. Fails open: a zone that does not answer in time blocks nobody.
import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Reply } from '../policy/types.js';

export interface DnsblResult {
  /** The first zone that lists the client, or null. */
  listed: { zone: string; answer: string } | null;
  /** One line per zone, for the debug trace. */
  notes: string[];
}

function expand6(ip: string): string {
  const [head, tail = ''] = ip.toLowerCase().split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const fill = ip.includes('::') ? new Array(8 - h.length - t.length).fill('0') : [];
  return [...h, ...fill, ...t].map((g) => g.padStart(4, '0')).join('');
}

/** RFC 5782 section 2.1 (IPv4) and 2.4 (IPv6) query name, or null for a non-IP. */
export function dnsblQueryName(ip: string, zone: string): string | null {
  const z = zone.replace(/^\.+|\.+$/g, '');
  if (isIP(ip) === 4) return `${ip.split('.').reverse().join('.')}.${z}`;
  if (isIP(ip) === 6) return `${expand6(ip).split('').reverse().join('.')}.${z}`;
  return null;
}

/** Addresses no public blocklist lists: loopback, RFC 1918, link-local, ULA. */
export function isPrivateAddress(ip: string): boolean {
  if (isIP(ip) === 4) {
    const [a, b] = ip.split('.').map(Number);
    return a === 127 || a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254);
  }
  const x = expand6(ip);
  return x === '0'.repeat(31) + '1' || /^f[cd]/.test(x) || /^fe[89ab]/.test(x);
}

/** Postfix's wording, which admins and senders recognise. */
export function dnsblReply(ip: string, zone: string): Reply {
  return { code: 554, enhanced: '5.7.1', text: `Service unavailable; Client host [${ip}] blocked using ${zone}` };
}

export async function dnsblCheck(
  ip: string,
  zones: string[],
  opts: { servers?: string[]; timeoutMs?: number } = {},
): Promise<DnsblResult> {
  const timeoutMs = opts.timeoutMs ?? 3000;
  const resolver = new Resolver({ timeout: timeoutMs, tries: 1 });
  if (opts.servers?.length) {
    try {
      resolver.setServers(opts.servers);
    } catch {
      // unusable dnsServers: the system resolver answers (see rdns.ts)
    }
  }
  const one = async (zone: string): Promise<{ zone: string; answer: string | null; note: string }> => {
    const name = dnsblQueryName(ip, zone);
    if (!name) return { zone, answer: null, note: `dnsbl ${zone}: ${ip} is not an IP address` };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<string[] | 'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
      timer.unref();
    });
    try {
      const answers = await Promise.race([resolver.resolve4(name), timeout]);
      if (answers === 'timeout') return { zone, answer: null, note: `dnsbl ${zone}: no answer in ${timeoutMs} ms, not blocking` };
      // RFC 5782 2.1: listed means an A record in 127/8; Spamhaus answers 127.255.255.x when it
      // refuses the query (public resolver, over quota): that is not a listing.
      const hit = answers.find((a) => a.startsWith('127.') && !a.startsWith('127.255.255.'));
      if (hit) return { zone, answer: hit, note: `dnsbl ${zone}: ${name} -> ${hit}: listed` };
      return { zone, answer: null, note: `dnsbl ${zone}: ${name} -> ${answers.join(',')}: not a listing` };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return { zone, answer: null, note: `dnsbl ${zone}: ${code === 'ENOTFOUND' || code === 'ENODATA' ? 'not listed' : `lookup failed (${code ?? err}), not blocking`}` };
    } finally {
      clearTimeout(timer);
    }
  };
  const results = await Promise.all(zones.filter((z) => z.trim()).map(one));
  resolver.cancel();
  const first = results.find((r) => r.answer);
  return { listed: first ? { zone: first.zone, answer: first.answer! } : null, notes: results.map((r) => r.note) };
}
