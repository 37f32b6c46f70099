// IP address arithmetic for effect.dat patterns, written out by hand because policy/ does
// no I/O and imports no node:net (ARCHITECTURE: policy is pure data in, data out).

export interface IpBytes {
  family: 4 | 6;
  /** 4 bytes for IPv4, 16 for IPv6. */
  bytes: number[];
}

export function parseIpv4(text: string): number[] | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    out.push(n);
  }
  return out;
}

export function parseIpv6(text: string): number[] | null {
  let s = text;
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone); // fe80::1%eth0: the zone names an interface, not an address
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  if (!s.includes(':')) return null;
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const groups = (half: string): number[] | null => {
    if (half === '') return [];
    const out: number[] = [];
    const items = half.split(':');
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      // RFC 4291 2.2 form 3: the last 32 bits may be written as dotted IPv4.
      if (i === items.length - 1 && item.includes('.')) {
        const v4 = parseIpv4(item);
        if (!v4) return null;
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(item)) return null;
      out.push(parseInt(item, 16));
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (!head || !tail) return null;
  let all: number[];
  if (halves.length === 2) {
    const fill = 8 - head.length - tail.length;
    if (fill < 1) return null;
    all = [...head, ...new Array<number>(fill).fill(0), ...tail];
  } else {
    all = head;
  }
  if (all.length !== 8) return null;
  const bytes: number[] = [];
  for (const g of all) bytes.push(g >> 8, g & 0xff);
  return bytes;
}

/** Parse an IPv4 or IPv6 address; an IPv4-mapped IPv6 address (`::ffff:1.2.3.4`) is unwrapped to IPv4. */
export function parseIp(text: string): IpBytes | null {
  const t = text.trim();
  const v4 = parseIpv4(t);
  if (v4) return { family: 4, bytes: v4 };
  const v6 = parseIpv6(t);
  if (!v6) return null;
  if (isV4Mapped(v6)) return { family: 4, bytes: v6.slice(12) };
  return { family: 6, bytes: v6 };
}

function isV4Mapped(b: number[]): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

/** The IPv4-mapped IPv6 form (RFC 4291 2.5.5.2) of an IPv4 address, for IPv6 CIDR patterns. */
export function toV6(ip: IpBytes): number[] {
  return ip.family === 6 ? ip.bytes : [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...ip.bytes];
}

/** Whether the first `prefix` bits of a and b are equal. */
export function samePrefix(a: number[], b: number[], prefix: number): boolean {
  if (a.length !== b.length) return false;
  let bits = Math.max(0, Math.min(prefix, a.length * 8));
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((a[i] & mask) !== (b[i] & mask)) return false;
  }
  return true;
}

// Network addresses parsed once per text: effect.dat is evaluated at every connection.
const networks = new Map<string, number[] | null>();

function network(family: 4 | 6, address: string): number[] | null {
  const key = `${family}/${address}`;
  let net = networks.get(key);
  if (net === undefined) {
    net = family === 4 ? parseIpv4(address) : parseIpv6(address);
    if (networks.size > 100_000) networks.clear(); // bounded: tables are edited, never huge
    networks.set(key, net);
  }
  return net;
}

/** `ip` inside `address/prefix`. An IPv4 client matches an IPv6 block that holds its mapped form. */
export function inCidr(ip: IpBytes, family: 4 | 6, address: string, prefix: number): boolean {
  const net = network(family, address);
  if (!net) return false;
  if (family === 4) return ip.family === 4 && samePrefix(ip.bytes, net, prefix);
  return samePrefix(toV6(ip), net, prefix);
}

/** 127.0.0.0/8, ::1, and the unspecified addresses (a connection to 0.0.0.0 reaches this host). */
export function isLoopbackOrUnspecified(ip: IpBytes): boolean {
  if (ip.family === 4) return ip.bytes[0] === 127 || ip.bytes.every((b) => b === 0);
  const allZeroButLast = ip.bytes.slice(0, 15).every((b) => b === 0);
  return allZeroButLast && (ip.bytes[15] === 1 || ip.bytes[15] === 0);
}

export function formatIp(ip: IpBytes): string {
  if (ip.family === 4) return ip.bytes.join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((ip.bytes[i] << 8) | ip.bytes[i + 1]).toString(16));
  return groups.join(':');
}
