// A tiny UDP DNS responder on loopback (RFC 1035 4.1 wire format; PTR and A answers only),
// for the reverse-DNS and DNSBL tests.
import { createSocket, type Socket } from 'node:dgram';

export const PTR = 12;
export const A = 1;

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
export type Zone = Record<string, Array<{ type: number; data: string }> | 'silent'>;

export async function startDns(zone: Zone): Promise<{ server: string; close(): Promise<void> }> {
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

