import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import { parseTable, readTableDocument, ruleFields, tableRules, writeTableLines } from '../../../services/config/tables.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sekisho-tables-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const GATEWAY_JA = [
  "' 本社のメールサーバ",
  'test.jp, 192.168.0.10, 25',
  '',
  "' 支店（大阪）",
  '*.branch.test.jp, mx.branch.test.jp, 20025',
];

async function roundTrip(name: 'gateway' | 'effect', bytes: Buffer) {
  await writeFile(join(dir, `${name}.dat`), bytes);
  const doc = await readTableDocument(dir, name);
  await writeTableLines(dir, name, doc.lines.map((l) => l.raw));
  return { doc, after: await readFile(join(dir, `${name}.dat`)) };
}

describe('table files round trip byte for byte', () => {
  it('CP932 + CRLF with Japanese comments', async () => {
    const bytes = iconv.encode(GATEWAY_JA.join('\r\n') + '\r\n', 'cp932');
    const { doc, after } = await roundTrip('gateway', bytes);
    expect(doc.format).toEqual({ encoding: 'cp932', eol: '\r\n', finalNewline: true });
    expect(doc.lines[0]).toMatchObject({ kind: 'comment', raw: "' 本社のメールサーバ" });
    expect(doc.lines.map((l) => l.kind)).toEqual(['comment', 'rule', 'blank', 'comment', 'rule']);
    expect(after.equals(bytes)).toBe(true);
  });

  it('UTF-8 + LF', async () => {
    const bytes = Buffer.from(GATEWAY_JA.join('\n') + '\n', 'utf8');
    const { doc, after } = await roundTrip('gateway', bytes);
    expect(doc.format).toEqual({ encoding: 'utf8', eol: '\n', finalNewline: true });
    expect(after.equals(bytes)).toBe(true);
  });

  it('UTF-8 with BOM and no final newline', async () => {
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(GATEWAY_JA.join('\r\n'), 'utf8')]);
    const { doc, after } = await roundTrip('gateway', bytes);
    expect(doc.format).toEqual({ encoding: 'utf8bom', eol: '\r\n', finalNewline: false });
    expect(doc.lines[0].raw).toBe("' 本社のメールサーバ"); // BOM is not part of the first line
    expect(after.equals(bytes)).toBe(true);
  });

  it('CP932 without a final newline, and mixed line endings, survive untouched', async () => {
    const bytes = Buffer.concat([iconv.encode("' 社内\r\n#<> default\n#blank false\r\n192.168.*.* default", 'cp932')]);
    const { after } = await roundTrip('effect', bytes);
    expect(after.equals(bytes)).toBe(true);
  });

  it('editing one line changes only that line\'s bytes', async () => {
    const original = iconv.encode(GATEWAY_JA.join('\r\n') + '\r\n', 'cp932');
    await writeFile(join(dir, 'gateway.dat'), original);
    const doc = await readTableDocument(dir, 'gateway');
    const lines = doc.lines.map((l) => l.raw);
    lines[1] = 'test.jp, 192.168.0.20'; // one rule edited
    await writeTableLines(dir, 'gateway', lines);
    const after = await readFile(join(dir, 'gateway.dat'));
    const expected = iconv.encode([GATEWAY_JA[0], 'test.jp, 192.168.0.20', ...GATEWAY_JA.slice(2)].join('\r\n') + '\r\n', 'cp932');
    expect(after.equals(expected)).toBe(true);
    // The comment's CP932 bytes are there unchanged.
    expect(after.subarray(0, iconv.encode(GATEWAY_JA[0], 'cp932').length).equals(iconv.encode(GATEWAY_JA[0], 'cp932'))).toBe(true);
    // No temporary file left behind.
    expect(await readdir(dir)).toEqual(['gateway.dat']);
  });

  it('inserting and deleting lines keeps the others and the file\'s missing final newline', async () => {
    const original = Buffer.from('a.jp\nb.jp\nc.jp', 'utf8');
    await writeFile(join(dir, 'domains.dat'), original);
    await writeTableLines(dir, 'domains', ['a.jp', 'new.jp', 'c.jp']);
    expect(await readFile(join(dir, 'domains.dat'), 'utf8')).toBe('a.jp\nnew.jp\nc.jp');
    await writeTableLines(dir, 'domains', ['a.jp', 'c.jp', 'last.jp']);
    expect(await readFile(join(dir, 'domains.dat'), 'utf8')).toBe('a.jp\nc.jp\nlast.jp');
  });

  it('a new file is UTF-8 with CRLF', async () => {
    await writeTableLines(dir, 'aliases', ["' 別名", 'sales@test.jp -> bucho@test.jp']);
    const bytes = await readFile(join(dir, 'aliases.dat'));
    expect(bytes.equals(Buffer.from("' 別名\r\nsales@test.jp -> bucho@test.jp\r\n", 'utf8'))).toBe(true);
  });

  it('refuses to write a character CP932 cannot hold instead of writing "?"', async () => {
    const original = iconv.encode("' 本社\r\n", 'cp932');
    await writeFile(join(dir, 'domains.dat'), original);
    await expect(writeTableLines(dir, 'domains', ["' 本社", "' emoji 😀"])).rejects.toThrow(/Shift_JIS/);
    expect((await readFile(join(dir, 'domains.dat'))).equals(original)).toBe(true);
  });

  it('a missing table file reads as an empty table', async () => {
    const doc = await readTableDocument(dir, 'effect');
    expect(doc).toMatchObject({ exists: false, lines: [], file: 'effect.dat' });
  });
});

describe('parseTable / ruleFields', () => {
  it('keeps every line with its number and gives the grid fields', () => {
    const doc = parseTable('effect', "' header\r\n\r\n#<> default\r\n10.0.0.1\r\nbad/pattern x\r\n");
    expect(doc.lines.map((l) => [l.line, l.kind])).toEqual([
      [1, 'comment'],
      [2, 'blank'],
      [3, 'rule'],
      [4, 'rule'],
      [5, 'error'],
    ]);
    const rules = tableRules(doc);
    expect(ruleFields('effect', rules[0])).toEqual(['#<>', 'default']);
    expect(ruleFields('effect', rules[1])).toEqual(['10.0.0.1', '']);
    expect(rules[1].ref).toEqual({ file: 'effect.dat', line: 4 });
    const gw = tableRules(parseTable('gateway', 'Test.JP , MX.test.jp'));
    expect(ruleFields('gateway', gw[0])).toEqual(['test.jp', 'mx.test.jp', '25']);
    const al = tableRules(parseTable('aliases', 'Sales@Test.jp -> a@test.jp,b@test.jp'));
    expect(ruleFields('aliases', al[0])).toEqual(['sales@test.jp', 'a@test.jp, b@test.jp']);
    expect(ruleFields('domains', tableRules(parseTable('domains', 'TEST.jp'))[0])).toEqual(['test.jp']);
  });

  it('a comment may be indented', () => {
    expect(parseTable('gateway', "   ' indented").lines[0].kind).toBe('comment');
  });
});
