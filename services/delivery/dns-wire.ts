// The few bits of the DNS wire format (RFC 1035 4.1) delivery needs: an MX query over UDP
// whose answer carries the TTL (node's resolveMx drops it, and the MX cache must honour it),
// and the encoder a test responder uses to answer A/AAAA/MX. Names are not compressed when
// written; compression pointers are followed when read.
import { createSocket } from 'node:dgram';
import { isIP } from 'node:net';

export const TYPE = { A: 1, MX: 15, AAAA: 28 } as const;

export interface Question {
  id: number;
  name: string;
  type: number;
}

export interface AnswerRecord {
  name: string;
  type: number;
  ttl: number;
  /** A/AAAA: the address; MX: the exchange. */
  data: string;
  priority?: number;
}

export interface Response {
  id: number;
  rcode: number;
  truncated: boolean;
  answers: AnswerRecord[];
}

function writeName(name: string): Buffer {
  const parts = name.replace(/\.$/, '').split('.').filter(Boolean);
  const bufs = parts.map((p) => {
    const b = Buffer.from(p, 'ascii');
    return Buffer.concat([Buffer.from([b.length]), b]);
  });
  return Buffer.concat([...bufs, Buffer.from([0])]);
}

function readName(buf: Buffer, offset: number): { name: string; next: number } {
  const labels: string[] = [];
  let pos = offset;
  let next = -1;
  for (let hops = 0; hops < 64; hops++) {
    const len = buf[pos];
    if (len === undefined) throw new Error('truncated name');
    if (len === 0) {
      if (next < 0) next = pos + 1;
      return { name: labels.join('.'), next };
    }
    if ((len & 0xc0) === 0xc0) {
      if (next < 0) next = pos + 2;
      pos = ((len & 0x3f) << 8) | buf[pos + 1];
      continue;
    }
    labels.push(buf.toString('ascii', pos + 1, pos + 1 + len));
    pos += 1 + len;
  }
  throw new Error('name pointer loop');
}

export function encodeQuery(id: number, name: string, type: number): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2); // RD
  header.writeUInt16BE(1, 4);
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(type, 0);
  tail.writeUInt16BE(1, 2); // IN
  return Buffer.concat([header, writeName(name), tail]);
}

export function decodeQuery(buf: Buffer): Question {
  const id = buf.readUInt16BE(0);
  const { name, next } = readName(buf, 12);
  return { id, name: name.toLowerCase(), type: buf.readUInt16BE(next) };
}

function encodeRdata(r: AnswerRecord): Buffer {
  if (r.type === TYPE.A) return Buffer.from(r.data.split('.').map(Number));
  if (r.type === TYPE.AAAA) return ipv6Bytes(r.data);
  if (r.type === TYPE.MX) {
    const pref = Buffer.alloc(2);
    pref.writeUInt16BE(r.priority ?? 10, 0);
    return Buffer.concat([pref, writeName(r.data)]);
  }
  throw new Error(`cannot encode type ${r.type}`);
}

function ipv6Bytes(addr: string): Buffer {
  const [head, tail = ''] = addr.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = addr.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g || '0', 16), i * 2));
  return out;
}

/** A response to `q` (RFC 1035 4.1.1): QR, AA, RD, RA set; rcode 0 = NOERROR, 3 = NXDOMAIN. */
export function encodeResponse(q: Question, rcode: number, answers: AnswerRecord[]): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(q.id, 0);
  header.writeUInt16BE(0x8580 | (rcode & 0xf), 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(answers.length, 6);
  const qtail = Buffer.alloc(4);
  qtail.writeUInt16BE(q.type, 0);
  qtail.writeUInt16BE(1, 2);
  const parts: Buffer[] = [header, writeName(q.name), qtail];
  for (const a of answers) {
    const rdata = encodeRdata(a);
    const fixed = Buffer.alloc(10);
    fixed.writeUInt16BE(a.type, 0);
    fixed.writeUInt16BE(1, 2);
    fixed.writeUInt32BE(a.ttl, 4);
    fixed.writeUInt16BE(rdata.length, 8);
    parts.push(writeName(a.name), fixed, rdata);
  }
  return Buffer.concat(parts);
}

export function decodeResponse(buf: Buffer): Response {
  const id = buf.readUInt16BE(0);
  const flags = buf.readUInt16BE(2);
  const qd = buf.readUInt16BE(4);
  const an = buf.readUInt16BE(6);
  let pos = 12;
  for (let i = 0; i < qd; i++) pos = readName(buf, pos).next + 4;
  const answers: AnswerRecord[] = [];
  for (let i = 0; i < an; i++) {
    const { name, next } = readName(buf, pos);
    const type = buf.readUInt16BE(next);
    const ttl = buf.readUInt32BE(next + 4);
    const len = buf.readUInt16BE(next + 8);
    const rd = next + 10;
    if (type === TYPE.MX) {
      answers.push({ name, type, ttl, priority: buf.readUInt16BE(rd), data: readName(buf, rd + 2).name.toLowerCase() });
    } else if (type === TYPE.A && len === 4) {
      answers.push({ name, type, ttl, data: [...buf.subarray(rd, rd + 4)].join('.') });
    } else if (type === TYPE.AAAA && len === 16) {
      const g: string[] = [];
      for (let j = 0; j < 16; j += 2) g.push(buf.readUInt16BE(rd + j).toString(16));
      answers.push({ name, type, ttl, data: g.join(':') });
    }
    pos = rd + len;
  }
  return { id, rcode: flags & 0xf, truncated: (flags & 0x0200) !== 0, answers };
}

/** `ip`, `ip:port`, `[v6]:port` → host and port (53 by default). */
export function parseServer(entry: string): { host: string; port: number } {
  const e = entry.trim();
  if (isIP(e)) return { host: e, port: 53 };
  const b = /^\[([^\]]+)\](?::(\d+))?$/.exec(e);
  if (b) return { host: b[1], port: b[2] ? Number(b[2]) : 53 };
  const hp = /^([^:]+):(\d+)$/.exec(e);
  if (hp) return { host: hp[1], port: Number(hp[2]) };
  return { host: e, port: 53 };
}

/** One UDP query to one server; rejects on timeout. */
export function queryUdp(server: { host: string; port: number }, name: string, type: number, timeoutMs: number): Promise<Response> {
  return new Promise((resolve, reject) => {
    const sock = createSocket(isIP(server.host) === 6 ? 'udp6' : 'udp4');
    const id = Math.floor(Math.random() * 0xffff);
    const timer = setTimeout(() => {
      sock.close();
      const e = new Error(`DNS timeout (${server.host}:${server.port})`) as NodeJS.ErrnoException;
      e.code = 'ETIMEOUT';
      reject(e);
    }, timeoutMs);
    sock.on('error', (err) => {
      clearTimeout(timer);
      sock.close();
      reject(err);
    });
    sock.on('message', (msg) => {
      let res: Response;
      try {
        res = decodeResponse(msg);
      } catch {
        return; // not a DNS answer: keep waiting until the timeout
      }
      if (res.id !== id) return;
      clearTimeout(timer);
      sock.close();
      resolve(res);
    });
    sock.send(encodeQuery(id, name, type), server.port, server.host);
  });
}
