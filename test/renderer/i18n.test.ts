/// <reference types="svelte" />
// The UI language: the default from the browser, the translations of every key and of the
// diagnostics by code, and dates in the UI language.
import { describe, it, expect } from 'vitest';
import { I18n, initialLang, format } from '../../renderer/src/lib/i18n/i18n.svelte.js';
import { en, ja } from '../../renderer/src/lib/i18n/messages.js';
import type { Diagnostic } from '../../services/control/api.js';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Every diagnostic code the config and policy modules can emit, read from their sources. */
function emittedCodes(): string[] {
  const codes = new Set<string>();
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith('.ts')) {
        for (const m of readFileSync(p, 'utf8').matchAll(/'((?:effect|gateway|alias|domains|settings|workdir|account|usetime|sender|table)\.[a-z0-9-]+)'/g)) {
          if (!/\.(dat|json)$/.test(m[1])) codes.add(m[1]);
        }
      }
    }
  };
  walk('services/config');
  walk('services/policy');
  // The control API adds its own (table.line-break, table.encoding).
  walk('services/control');
  return [...codes].sort();
}

const diag = (code: string, message: string): Diagnostic => ({ file: 'effect.dat', line: 3, column: 12, severity: 'error', code, message });

describe('i18n', () => {
  it('is Japanese for a Japanese browser, English otherwise, and a stored choice wins', () => {
    expect(initialLang(null, 'ja')).toBe('ja');
    expect(initialLang(null, 'ja-JP')).toBe('ja');
    expect(initialLang(null, 'en-US')).toBe('en');
    expect(initialLang(null, undefined)).toBe('en');
    expect(initialLang('en', 'ja-JP')).toBe('en');
    expect(initialLang('ja', 'en-US')).toBe('ja');
    expect(initialLang('fr', 'ja-JP')).toBe('ja');
  });

  it('has every English text in Japanese, with the same placeholders, and none left empty', () => {
    for (const key of Object.keys(en) as Array<keyof typeof en>) {
      expect(ja[key], key).toBeTruthy();
      const ph = (s: string) => (s.match(/\{\w+\}/g) ?? []).sort();
      expect(ph(ja[key]), key).toEqual(ph(en[key]));
      if (!/^(common\.ok|tab\.tls|service\.pid|queue\.id|policy\.(from|to))$/.test(key) && !/^[A-Z]+$/.test(en[key])) {
        expect(ja[key], `${key} looks untranslated`).not.toBe(en[key]);
      }
    }
  });

  it('translates diagnostics by code, keeping the quoted offending text, and falls back to English', () => {
    const d = diag('effect.bad-action', 'unknown action "maybe": expected true, default, false, only, norelay, norelay,2 or norelay,0');
    const jaI = new I18n('ja');
    expect(jaI.diagnostic(d)).toContain('動作が正しくありません');
    expect(jaI.diagnostic(d)).toContain('"maybe"');
    expect(jaI.diagnostic(diag('effect.something-new', 'a new problem'))).toBe('a new problem');
    expect(new I18n('en').diagnostic(d)).toBe(d.message);
    for (const code of ['effect.dead-after-only', 'effect.dangerous-true', 'alias.wildcard', 'gateway.bad-port']) {
      expect(jaI.diagnostic(diag(code, 'x')), code).not.toBe('x');
    }
  });

  it('switches at once and formats texts, dates and durations in the UI language', () => {
    const i = new I18n('en');
    expect(i.t('tab.queue')).toBe('Queue');
    expect(i.t('editor.errors', { n: 2 })).toBe('2 error(s)');
    i.setLang('ja');
    expect(i.t('tab.queue')).toBe('キュー');
    expect(i.t('editor.errors', { n: 2 })).toBe('エラー 2 件');
    expect(i.t('no.such.key')).toBe('no.such.key');
    const iso = '2026-11-23T01:02:03Z';
    expect(i.date(iso)).toMatch(/^2026\/11\/23 \d\d:02:03$/);
    i.setLang('en');
    expect(i.date(iso)).toMatch(/^23\/11\/2026, \d\d:02:03$/);
    expect(i.date(null)).toBe('—');
    expect(i.duration(3_723_000)).toBe('01:02:03');
    expect(i.duration(90_061_000)).toBe('1 d 01:01:01');
    expect(format('{a}-{b}-{c}', { a: 1, b: 'x' })).toBe('1-x-{c}');
  });

  it('every diagnostic code the services emit has a Japanese text (issue 8: every validation error in both languages)', () => {
    const codes = emittedCodes();
    expect(codes.length).toBeGreaterThan(30);
    expect(codes.filter((c) => !(`diag.${c}` in ja))).toEqual([]);
  });
});
