// The two data-path patches (patches/*.patch) replace a JavaScript loop per byte with native
// indexOf scans. They must not change a single output byte: compared here with the
// straightforward per-byte algorithms on thousands of random messages, cut into random chunks
// (a dot, CR or LF on a chunk boundary is where such rewrites break).
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { SMTPStream } from 'smtp-server/lib/smtp-stream.js';

const require = createRequire(import.meta.url);
// nodemailer's DataStream is not in its export map: load its files directly, both builds (the
// delivery service imports the ES module one).
type DataStreamClass = new () => import('node:stream').Transform;
const cjsPath = require.resolve('nodemailer').replace(/nodemailer\.js$/, 'smtp-connection/data-stream.js');
const esmPath = cjsPath.replace(/[\\/]cjs[\\/]/, (m) => m.replace('cjs', 'esm'));
const builds: Array<[string, string, DataStreamClass]> = [
  ['esm', esmPath, (await import(pathToFileURL(esmPath).href)).default],
  ['cjs', cjsPath, require(cjsPath).default],
];

/** Deterministic pseudo-random numbers (a failure must be reproducible). */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const PIECES = ['a', 'bc', 'x'.repeat(70), '.', '..', '\r', '\n', '\r\n', '\r\n.', '\r\n..', '\n.', '\r.\r', '.\r\n', ' '];

function randomText(r: () => number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += PIECES[Math.floor(r() * PIECES.length)];
  return s;
}

function cut(r: () => number, buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let pos = 0; pos < buf.length; ) {
    const n = 1 + Math.floor(r() * Math.min(40, buf.length - pos));
    out.push(buf.subarray(pos, pos + n));
    pos += n;
  }
  return out;
}

/** nodemailer 10.6.0's per-byte algorithm, whole input at once (the reference). */
function referenceStuff(input: Buffer): Buffer {
  const out: number[] = [];
  let prev: number | false = false;
  for (const byte of input) {
    if (prev === 0x0d && byte !== 0x0a) out.push(...(byte === 0x2e ? [0x0a, 0x2e] : [0x0a]));
    else if (byte === 0x0a && prev !== 0x0d) out.push(0x0d);
    else if (byte === 0x2e && (prev === 0x0a || prev === false)) out.push(0x2e);
    out.push(byte);
    prev = byte;
  }
  const end = prev === 0x0a ? '.\r\n' : prev === 0x0d ? '\n.\r\n' : '\r\n.\r\n';
  return Buffer.concat([Buffer.from(out), Buffer.from(end)]);
}

async function patchedStuff(DataStream: DataStreamClass, chunks: Buffer[]): Promise<Buffer> {
  const s = new DataStream();
  const out: Buffer[] = [];
  s.on('data', (c: Buffer) => out.push(c));
  const ended = new Promise((r) => s.on('end', r));
  for (const c of chunks) s.write(c);
  s.end();
  await ended;
  return Buffer.concat(out);
}

describe.each(builds)('nodemailer DataStream patch, %s build (dot-stuffing with native scans)', (_name, path, DataStream) => {
  it('is applied', () => {
    expect(readFileSync(path, 'utf8')).toContain('sekisho patch');
  });

  it('gives exactly the per-byte result for random messages in random chunks', async () => {
    const r = rng(42);
    for (let n = 0; n < 1500; n++) {
      const input = Buffer.from(randomText(r, 1 + Math.floor(r() * 60)), 'latin1');
      const got = await patchedStuff(DataStream, cut(r, input));
      expect(got.toString('latin1'), JSON.stringify(input.toString('latin1'))).toBe(referenceStuff(input).toString('latin1'));
    }
  });

  it('passes a clean 100 KB message through unchanged, as one chunk', async () => {
    const body = Buffer.from(('y'.repeat(76) + '\r\n').repeat(1300));
    const got = await patchedStuff(DataStream, [body]);
    expect(got.equals(Buffer.concat([body, Buffer.from('.\r\n')]))).toBe(true);
  });
});

/** Dot-stuff CRLF lines for the wire (RFC 5321 4.5.2) and end with the terminator. */
function wire(lines: string[]): Buffer {
  return Buffer.from(lines.map((l) => (l.startsWith('.') ? '.' + l : l) + '\r\n').join('') + '.\r\n', 'latin1');
}

function receive(chunks: Buffer[]): Promise<{ data: string; commands: string[] }> {
  return new Promise((resolve, reject) => {
    const parser = new SMTPStream();
    const commands: string[] = [];
    (parser as unknown as { oncommand: (c: Buffer, cb?: () => void) => void }).oncommand = (c, cb) => {
      commands.push(c.toString('latin1'));
      cb?.();
    };
    const data = parser.startDataMode(0);
    const got: Buffer[] = [];
    data.on('data', (c: Buffer) => got.push(c));
    data.on('end', () => {
      parser.continue();
      // The command after the message is parsed once the parser continues.
      setTimeout(() => resolve({ data: Buffer.concat(got).toString('latin1'), commands }), 5);
    });
    data.on('error', reject);
    (async () => {
      for (const c of chunks) {
        if (!parser.write(c)) await new Promise((r) => parser.once('drain', r));
      }
    })().catch(reject);
  });
}

describe('smtp-server DATA scan patch (end and escape dots found with indexOf)', () => {
  it('is applied', () => {
    expect(readFileSync(require.resolve('smtp-server/lib/smtp-stream.js'), 'utf8')).toContain('sekisho patch');
  });

  it('unstuffs random messages in random chunks and finds the end exactly', async () => {
    const r = rng(7);
    const LINES = ['', '.', '..', '...', '.x', 'a.b', 'x'.repeat(30), 'Subject: hi', ' .', '.\t'];
    for (let n = 0; n < 400; n++) {
      const lines = Array.from({ length: 1 + Math.floor(r() * 12) }, () => LINES[Math.floor(r() * LINES.length)]);
      const bytes = Buffer.concat([wire(lines), Buffer.from('QUIT\r\n')]);
      const { data, commands } = await receive(cut(r, bytes));
      expect(data, JSON.stringify(lines)).toBe(lines.map((l) => l + '\r\n').join(''));
      expect(commands).toEqual(['QUIT']);
    }
  });
});
