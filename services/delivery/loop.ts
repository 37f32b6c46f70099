// Never deliver to ourselves (SPEC 4): a next hop that is one of this machine's addresses on
// one of our listening ports would hand the message straight back to our receiver, which
// would queue it again — a loop that only the Received-header count would end, hours later.
import { networkInterfaces } from 'node:os';
import { isIP } from 'node:net';

/** Every address of this machine, plus the loopback and unspecified addresses. */
export function ownAddresses(): Set<string> {
  const out = new Set<string>(['127.0.0.1', '::1', '0.0.0.0', '::']);
  for (const list of Object.values(networkInterfaces())) {
    for (const ni of list ?? []) out.add(normalize(ni.address));
  }
  return out;
}

function normalize(address: string): string {
  const a = address.toLowerCase().replace(/%.*$/, '');
  return a.startsWith('::ffff:') && isIP(a.slice(7)) === 4 ? a.slice(7) : a;
}

/** Is `address:port` this gateway's own receiver? 127.0.0.0/8 is all loopback (RFC 1122 3.2.1.3). */
export function isOwnEndpoint(address: string, port: number, own: Set<string>, receiverPorts: number[]): boolean {
  if (!receiverPorts.includes(port)) return false;
  const a = normalize(address);
  if (own.has(a)) return true;
  return isIP(a) === 4 && a.startsWith('127.');
}
