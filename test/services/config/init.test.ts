import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initWorkdir, langOfLocale, systemLang, tableTemplate } from '../../../services/config/init.js';
import iconv from 'iconv-lite';
import { TABLE_FILES } from '../../../services/config/types.js';
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

  it.each(['ja', 'en'] as const)('effect.dat (%s) starts with #<> default and #blank false and shows every pattern and action', async (lang) => {
    await initWorkdir(dir, { lang });
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

  it.each(['ja', 'en'] as const)('the commented examples of the other tables (%s) are valid lines', async (lang) => {
    await initWorkdir(dir, { lang });
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

describe('init --lang (issue 13: the template comments in the administrator\'s language)', () => {
  const comments = (text: string) => splitLines(text).lines.filter((l) => l.startsWith("' ")).join('\n');

  it('writes Japanese comments for ja and English ones for en, with the same rules and examples', async () => {
    const ja = join(dir, 'ja');
    const en = join(dir, 'en');
    await initWorkdir(ja, { lang: 'ja' });
    await initWorkdir(en, { lang: 'en' });
    for (const f of ['gateway', 'effect', 'aliases', 'domains'].map((n) => TABLE_FILES[n as 'gateway'])) {
      const jaText = decodeText(await readFile(join(ja, f))).text;
      const enText = decodeText(await readFile(join(en, f))).text;
      // Japanese: most comment lines have Japanese in them; English: none has.
      const jaLines = comments(jaText).split('\n');
      expect(jaLines.filter((l) => /[\u3040-\u30ff\u4e00-\u9fff]/.test(l)).length / jaLines.length, f).toBeGreaterThan(0.5);
      expect(comments(enText), f).not.toMatch(/[^\x00-\x7f]/);
      // The same commented examples and active rules in both.
      const examples = (t: string) => splitLines(t).lines.filter((l) => !l.startsWith("' ") || /^' {4}\S/.test(l));
      expect(examples(jaText), f).toEqual(examples(enText));
    }
  });

  it('every template character can be written in CP932 (an admin may re-save a file as Shift_JIS)', async () => {
    for (const lang of ['ja', 'en'] as const) {
      for (const name of ['gateway', 'effect', 'aliases', 'domains'] as const) {
        const text = (await tableTemplate(name, lang)).toString('utf8');
        const bad = [...text].filter((c) => iconv.decode(iconv.encode(c, 'cp932'), 'cp932') !== c);
        expect(bad, `${lang}/${name}`).toEqual([]);
      }
    }
  });

  it('takes the default from the system locale: LC_ALL, LC_MESSAGES, LANG on POSIX, Intl elsewhere', () => {
    expect(langOfLocale('ja_JP.UTF-8')).toBe('ja');
    expect(langOfLocale('ja-JP')).toBe('ja');
    expect(langOfLocale('ja')).toBe('ja');
    expect(langOfLocale('jam')).toBe('en');
    expect(langOfLocale('en_US.UTF-8')).toBe('en');
    expect(langOfLocale('C')).toBe('en');
    expect(langOfLocale(undefined)).toBe('en');
    expect(systemLang({ LANG: 'ja_JP.UTF-8' }, 'linux')).toBe('ja');
    expect(systemLang({ LC_ALL: 'C', LANG: 'ja_JP.UTF-8' }, 'linux')).toBe('en');
    expect(systemLang({ LC_MESSAGES: 'ja_JP.eucJP', LANG: 'en_US.UTF-8' }, 'linux')).toBe('ja');
    // Windows: the environment is not the system language; ICU's locale is.
    const icu = langOfLocale(Intl.DateTimeFormat().resolvedOptions().locale);
    expect(systemLang({ LANG: 'ja_JP.UTF-8' }, 'win32')).toBe(icu);
    expect(systemLang({}, 'linux')).toBe(icu);
  });

  it('refuses a language it has no templates for', async () => {
    await expect(initWorkdir(dir, { lang: 'fr' as never })).rejects.toThrow(/lang must be ja or en/);
  });
});
