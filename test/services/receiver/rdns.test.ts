// Forward-confirmed reverse DNS against a tiny UDP DNS responder on loopback (RFC 1035 4.1
// wire format, PTR and A only): a PTR counts only when its name resolves back to the client.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createSocket, type Socket } from 'node:dgram';
import { forwardConfirmedName, isLoopback } from '../../../services/receiver/rdns.js';

const PTR = 12;
const A = 1;

function encodeName(name: string): Buffer {
  const parts = name.split('.').filter(Boolean).map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  return Buffer.concat([...parts, Buffer.from([0])]);
}

function readQuestion(msg: Buffer): { id: number; name: string; type: number; end: number } {
  const labels: string[] = [];
  let pos = 12;
  while (msg[pos] !== 0) {
    labels.push(msg.toString('ascii', pos + 1, pos + 1 + msg[pos]));
    pos += 1 + msg[pos];
  }
  return { id: msg.readUInt16BE(0), name: labels.join('.').toLowerCase(), type: msg.readUInt16BE(pos + 1), end: pos + 5 };
}

/** name -> records; a name mapped to 'silent' is never answered (a DNS timeout). */
type Zone = Record<string, Array<{ type: number; data: string }> | 'silent'>;

async function startDns(zone: Zone): Promise<{ server: string; close(): Promise<void> }> {
  const sock: Socket = createSocket('udp4');
  sock.on('message', (msg, from) => {
    const q = readQuestion(msg);
    const recs = zone[q.name];
    if (recs === 'silent') return;
    const answers = (recs ?? []).filter((r) => r.type === q.type);
    const header = Buffer.alloc(12);
    header.writeUInt16BE(q.id, 0);
    header.writeUInt16BE(0x8580 | (recs ? 0 : 3), 2);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length, 6);
    const parts: Buffer[] = [header, msg.subarray(12, q.end)];
    for (const a of answers) {
      const rdata = a.type === A ? Buffer.from(a.data.split('.').map(Number)) : encodeName(a.data);
      const fixed = Buffer.alloc(10);
      fixed.writeUInt16BE(a.type, 0);
      fixed.writeUInt16BE(1, 2);
      fixed.writeUInt32BE(60, 4);
      fixed.writeUInt16BE(rdata.length, 8);
      parts.push(encodeName(q.name), fixed, rdata);
    }
    sock.send(Buffer.concat(parts), from.port, from.address);
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  return { server: `127.0.0.1:${sock.address().port}`, close: () => new Promise<void>((r) => sock.close(() => r())) };
}

let dns: { server: string; close(): Promise<void> };
beforeAll(async () => {
  dns = await startDns({
    '1.2.0.192.in-addr.arpa': [{ type: PTR, data: 'Mail.Ext.JP' }],
    'mail.ext.jp': [{ type: A, data: '192.0.2.1' }],
    '2.2.0.192.in-addr.arpa': [{ type: PTR, data: 'trusted.test.jp' }],
    'trusted.test.jp': [{ type: A, data: '192.0.2.99' }],
    '4.2.0.192.in-addr.arpa': 'silent',
  });
});
afterAll(async () => {
  await dns?.close();
});

describe('forward-confirmed reverse DNS', () => {
  const look = (ip: string) => forwardConfirmedName(ip, { servers: [dns.server], timeoutMs: 500 });

  it('takes a PTR name that resolves back to the client, lower-cased', async () => {
    expect(await look('192.0.2.1')).toMatchObject({ hostname: 'mail.ext.jp', note: expect.stringContaining('confirmed') });
  });

  it('ignores a PTR name that points elsewhere (anyone can publish any PTR for their own IPs)', async () => {
    const r = await look('192.0.2.2');
    expect(r.hostname).toBe('');
    expect(r.note).toMatch(/not confirmed/);
  });

  it('has no name without a PTR, and gives up after the timeout', async () => {
    expect((await look('192.0.2.3')).hostname).toBe('');
    const slow = await look('192.0.2.4');
    expect(slow.hostname).toBe('');
    expect(slow.note).toMatch(/timed out|no reverse DNS/);
  });

  it('falls back to the system resolver when dnsServers is unusable, never throws', async () => {
    const r = await forwardConfirmedName('192.0.2.1', { servers: ['not a server'], timeoutMs: 300 });
    expect(r.note).toMatch(/dnsServers \["not a server"\] unusable/);
  });

  it('does not look up loopback clients', async () => {
    expect(isLoopback('127.0.0.1') && isLoopback('::1') && !isLoopback('192.0.2.1')).toBe(true);
    expect(await look('127.0.0.1')).toEqual({ hostname: '', note: 'reverse DNS skipped for loopback' });
  });
});
