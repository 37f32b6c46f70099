import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initWorkdir } from '../../../services/config/init.js';
import { loadConfig } from '../../../services/config/load.js';
import { decodeText, splitLines } from '../../../services/config/codec.js';
import { parseTable, tableErrors, tableRules } from '../../../services/config/tables.js';
import { defaultSettings } from '../../../services/config/settings.js';
import { EFFECT_ACTIONS } from '../../../services/config/tables/effect.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sekisho-init-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('initWorkdir', () => {
  it('creates settings.json (every key), the four tables (UTF-8, CRLF) and the folders', async () => {
    const work = join(dir, 'mail');
    const r = await initWorkdir(work, { ports: [2525, 20025], controlPort: 18025, hostname: 'gw.example.jp', postmaster: 'admin@example.jp' });
    expect(r.kept).toEqual([]);
    expect(r.created.sort()).toEqual(
      ['aliases.dat', 'domains.dat', 'effect.dat', 'gateway.dat', 'inbox/', 'incoming/', 'log/accept/', 'log/receive/', 'log/sender/', 'settings.json'].sort(),
    );
    for (const d of ['inbox', 'incoming', 'log/accept', 'log/receive', 'log/sender']) {
      expect((await stat(join(work, d))).isDirectory()).toBe(true);
      expect(await readdir(join(work, d))).toEqual([]);
    }
    const settings = JSON.parse(await readFile(join(work, 'settings.json'), 'utf8'));
    const expected = defaultSettings();
    expected.receiver.ports = [2525, 20025];
    expected.control.port = 18025;
    expected.hostname = 'gw.example.jp';
    expected.delivery.postmaster = 'admin@example.jp';
    expect(settings).toEqual(expected); // every key written out, not only the overrides

    for (const f of ['gateway.dat', 'effect.dat', 'aliases.dat', 'domains.dat']) {
      const bytes = await readFile(join(work, f));
      const { format, text } = decodeText(bytes);
      expect(format, f).toEqual({ encoding: 'utf8', eol: '\r\n', finalNewline: true });
      expect(text.replace(/\r\n/g, '')).not.toContain('\n');
      expect(splitLines(text).lines[0]).toMatch(/^(' |#<> default$)/);
    }
    const { snapshot, diagnostics } = await loadConfig(work);
    expect(diagnostics).toEqual([]);
    expect(snapshot!.gateway).toEqual([]);
    expect(snapshot!.aliases).toEqual([]);
    expect(snapshot!.domains).toEqual([]);
  });

  it('effect.dat starts with #<> default and #blank false and shows every pattern and action', async () => {
    await initWorkdir(dir);
    const text = decodeText(await readFile(join(dir, 'effect.dat'))).text;
    const doc = parseTable('effect', text);
    expect(tableRules(doc).map((r) => `${r.patternText} ${r.action}`)).toEqual(['#<> default', '#blank false']);
    expect(doc.lines.slice(0, 2).map((l) => l.raw)).toEqual(['#<> default', '#blank false']);

    // The commented examples: lines `'    <rule>`.
    const examples = doc.lines.filter((l) => l.kind === 'comment' && /^' {4}\S/.test(l.raw)).map((l) => l.raw.slice(5));
    const parsed = parseTable('effect', examples.join('\r\n'));
    expect(tableErrors(parsed)).toEqual([]);
    const rules = tableRules(parsed);
    const kinds = new Set(rules.map((r) => (r.pattern.kind === 'cidr' ? `cidr${r.pattern.family}-${r.pattern.prefix === (r.pattern.family === 4 ? 32 : 128) ? 'host' : 'block'}` : r.pattern.kind === 'sender' ? `sender-${r.pattern.local === '*' ? 'any' : 'user'}` : r.pattern.kind)));
    expect([...kinds].sort()).toEqual(
      ['blank-sender', 'cidr4-block', 'cidr4-host', 'cidr6-block', 'cidr6-host', 'domain', 'ipv4-wildcard', 'null-sender', 'sender-any', 'sender-user'].sort(),
    );
    expect(new Set(rules.map((r) => r.patternText))).toContain('#<');
    expect(new Set(rules.map((r) => r.action))).toEqual(new Set(EFFECT_ACTIONS));
    expect(rules.some((r) => r.implicitAction)).toBe(true);
  });

  it('the commented examples of the other tables are valid lines', async () => {
    await initWorkdir(dir);
    for (const name of ['gateway', 'aliases', 'domains'] as const) {
      const doc = parseTable(name, decodeText(await readFile(join(dir, `${name}.dat`))).text);
      const examples = doc.lines.filter((l) => /^'[^ ']/.test(l.raw)).map((l) => l.raw.slice(1));
      expect(examples.length, name).toBeGreaterThan(0);
      const parsed = parseTable(name, examples.join('\n'));
      expect(tableErrors(parsed), name).toEqual([]);
      expect(tableRules(parsed).length, name).toBe(examples.length);
    }
  });

  it('never overwrites an existing file; creates only what is missing', async () => {
    await writeFile(join(dir, 'effect.dat'), '192.168.0.0/16 default\n');
    await writeFile(join(dir, 'settings.json'), '{ "hostname": "mine.example.jp" }\n');
    const r = await initWorkdir(dir, { hostname: 'other.example.jp' });
    expect(r.kept.sort()).toEqual(['effect.dat', 'settings.json']);
    expect(await readFile(join(dir, 'effect.dat'), 'utf8')).toBe('192.168.0.0/16 default\n');
    expect(await readFile(join(dir, 'settings.json'), 'utf8')).toBe('{ "hostname": "mine.example.jp" }\n');
    expect(r.created).toContain('gateway.dat');
    const again = await initWorkdir(dir);
    expect(again.created).toEqual([]);
  });

  it('refuses an invalid override', async () => {
    await expect(initWorkdir(dir, { ports: [0] })).rejects.toThrow(/receiver\.ports\.0/);
  });
});
