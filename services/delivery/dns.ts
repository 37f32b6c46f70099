// Name resolution for delivery (SPEC 4): MX through delivery.dnsServers (RFC 5321 5.1) with a
// small cache honouring the record TTL, the implicit MX (A/AAAA of the domain) when there is
// no MX record, and host names through the system resolver (dns.lookup), so the hosts file is
// respected as an administrator expects.
import { promises as dnsPromises } from 'node:dns';
import { isIP } from 'node:net';
import { TYPE, parseServer, queryUdp, type Response } from './dns-wire.js';

export interface MxHost {
  exchange: string;
  priority: number;
}

export type MxAnswer =
  | { kind: 'mx'; hosts: MxHost[] }
  /** No MX record (NODATA): the domain itself is the implicit MX (RFC 5321 5.1). */
  | { kind: 'implicit'; hosts: MxHost[] }
  /** RFC 7505 null MX (`MX 0 .`): the domain accepts no mail. */
  | { kind: 'null-mx' }
  /** NXDOMAIN: the domain does not exist. */
  | { kind: 'nxdomain'; error: string }
  /** SERVFAIL, timeout, refused: try again later. */
  | { kind: 'temp'; error: string };

interface CacheEntry {
  answer: MxAnswer;
  expiresAt: number;
}

/** Cache bounds: answers without a TTL (NODATA/NXDOMAIN) live a minute, nothing beyond an hour. */
const NEGATIVE_TTL_MS = 60_000;
const MAX_TTL_MS = 3600_000;
const MAX_CACHE = 1000;

export class MxResolver {
  private readonly servers: Array<{ host: string; port: number }>;
  private readonly cache = new Map<string, CacheEntry>();
  private readonly timeoutMs: number;
  private readonly resolver: InstanceType<typeof dnsPromises.Resolver>;

  /** `servers`: delivery.dnsServers (`ip` or `ip:port`); empty = the system's DNS servers. */
  constructor(servers: string[], timeoutMs = 3000) {
    this.timeoutMs = timeoutMs;
    this.resolver = new dnsPromises.Resolver({ timeout: timeoutMs, tries: 1 });
    const list = servers.length ? servers : this.resolver.getServers();
    this.servers = list.map(parseServer);
    if (servers.length) this.resolver.setServers(this.servers.map((s) => (isIP(s.host) === 6 ? `[${s.host}]:${s.port}` : `${s.host}:${s.port}`)));
  }

  /** MX hosts sorted by preference; from the cache while the TTL lasts. */
  async mx(domain: string, now = Date.now()): Promise<MxAnswer> {
    const key = domain.toLowerCase().replace(/\.$/, '');
    const hit = this.cache.get(key);
    if (hit && hit.expiresAt > now) return hit.answer;
    const { answer, ttlMs } = await this.queryMx(key);
    if (answer.kind !== 'temp' && ttlMs > 0) {
      if (this.cache.size >= MAX_CACHE) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(key, { answer, expiresAt: now + Math.min(ttlMs, MAX_TTL_MS) });
    }
    return answer;
  }

  private async queryMx(domain: string): Promise<{ answer: MxAnswer; ttlMs: number }> {
    let res: Response | null = null;
    let lastError = 'no DNS server';
    // Each server in order (RFC 1035 7.2), one UDP query each.
    for (const server of this.servers) {
      try {
        res = await queryUdp(server, domain, TYPE.MX, this.timeoutMs);
        if (res.rcode === 2 || res.rcode === 5) {
          lastError = `rcode ${res.rcode} from ${server.host}`;
          res = null;
          continue;
        }
        break;
      } catch (err) {
        lastError = (err as Error).message;
      }
    }
    if (!res) return { answer: { kind: 'temp', error: `DNS failure for ${domain}: ${lastError}` }, ttlMs: 0 };
    if (res.truncated) return this.queryMxTcpFallback(domain);
    if (res.rcode === 3) return { answer: { kind: 'nxdomain', error: `domain ${domain} does not exist (NXDOMAIN)` }, ttlMs: NEGATIVE_TTL_MS };
    if (res.rcode !== 0) return { answer: { kind: 'temp', error: `DNS rcode ${res.rcode} for ${domain}` }, ttlMs: 0 };
    const mx = res.answers.filter((a) => a.type === TYPE.MX);
    if (mx.length === 0) {
      return { answer: { kind: 'implicit', hosts: [{ exchange: domain, priority: 0 }] }, ttlMs: NEGATIVE_TTL_MS };
    }
    const ttlMs = Math.min(...mx.map((a) => a.ttl)) * 1000;
    if (mx.length === 1 && (mx[0].data === '' || mx[0].data === '.')) return { answer: { kind: 'null-mx' }, ttlMs };
    return { answer: { kind: 'mx', hosts: sortMx(mx.map((a) => ({ exchange: a.data, priority: a.priority ?? 0 }))) }, ttlMs };
  }

  /** A truncated UDP answer: let node's resolver (which retries over TCP) fetch it; no TTL
   * comes back that way, so cache it briefly. */
  private async queryMxTcpFallback(domain: string): Promise<{ answer: MxAnswer; ttlMs: number }> {
    try {
      const recs = await this.resolver.resolveMx(domain);
      return { answer: { kind: 'mx', hosts: sortMx(recs) }, ttlMs: NEGATIVE_TTL_MS };
    } catch (err) {
      return { answer: { kind: 'temp', error: `DNS failure for ${domain}: ${(err as Error).message}` }, ttlMs: 0 };
    }
  }

  /** A/AAAA of an MX host through the configured DNS servers (a split-horizon or test server
   * knows the names it hands out), then the system resolver (hosts file). */
  async addressesOfMx(host: string): Promise<string[]> {
    if (isIP(host)) return [host];
    const out: string[] = [];
    for (const type of [TYPE.A, TYPE.AAAA]) {
      for (const server of this.servers) {
        try {
          const r = await queryUdp(server, host, type, this.timeoutMs);
          if (r.rcode !== 0 && r.rcode !== 3) continue;
          out.push(...r.answers.filter((a) => a.type === type).map((a) => a.data));
          break;
        } catch {
          /* next server */
        }
      }
    }
    if (out.length) return [...new Set(out)];
    return lookupHost(host);
  }

  clear(): void {
    this.cache.clear();
  }
}

/** Lowest preference first; equal preferences in random order (RFC 5321 5.1). */
export function sortMx(records: MxHost[]): MxHost[] {
  return records
    .filter((r) => r.exchange && r.exchange !== '.')
    .map((r) => ({ exchange: r.exchange.toLowerCase(), priority: r.priority, tie: Math.random() }))
    .sort((a, b) => a.priority - b.priority || a.tie - b.tie)
    .map(({ exchange, priority }) => ({ exchange, priority }));
}

/** A host name through the system resolver: hosts file first, as the OS does. */
export async function lookupHost(host: string): Promise<string[]> {
  if (isIP(host)) return [host];
  try {
    const all = await dnsPromises.lookup(host, { all: true, verbatim: true });
    return [...new Set(all.map((a) => a.address))];
  } catch {
    return [];
  }
}
