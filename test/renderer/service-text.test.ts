// Japanese for the services' English sentences (issue 13 "Japanese all through"): every
// sentence shape in the sources of the policy engine and the supervisor has a Japanese text,
// and real answers of the policy tester and real exit reasons come out in Japanese.
import { readFileSync } from 'node:fs';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { hasServiceText, serviceText, SERVICE_TEXT_JA, shapeKey } from '../../renderer/src/lib/i18n/service-text.js';
import { explain } from '../../services/policy/explain.js';
import { exitReason } from '../../services/supervisor/exit-reason.js';
import { makeSnapshot } from '../services/policy/snapshot.js';

/** The sources whose sentences reach the UI as text (explain results, service status). */
const SOURCES = [
  'services/policy/effect.ts',
  'services/policy/recipients.ts',
  'services/policy/route.ts',
  'services/policy/lookup.ts',
  'services/policy/accounts.ts',
  'services/policy/recipient-check.ts',
  'services/policy/explain.ts',
  'services/policy/address.ts',
  'services/policy/ip.ts',
  'services/supervisor/exit-reason.ts',
  'services/supervisor/index.ts',
  'services/supervisor/command.ts',
  // Errors of the control API calls (shown in the tabs' notices) and of the account files.
  'services/control/handlers.ts',
  'services/config/accounts.ts',
];

/** Sources where only the texts handed to these calls reach the UI (a service's lastError). */
const CALL_SOURCES: Array<{ file: string; callee: RegExp }> = [
  { file: 'services/receiver/receiver.ts', callee: /^ReceiverStartError$/ },
  { file: 'services/cli/receiver-primary.ts', callee: /^process\.stderr\.write$/ },
];

/** Strings in those files that are not shown as text (with why). */
const NOT_SHOWN = new Set<string>([]);

/**
 * Every string and template literal of a source that reads like a sentence (a space and a
 * word), as a shape: `${…}` becomes `{}`. Read with the TypeScript parser, so regular
 * expressions and comments are not mistaken for text.
 */
function sentenceShapes(file: string, callee?: RegExp): string[] {
  const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const out: string[] = [];
  const visit = (n: ts.Node): void => {
    if (ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) return;
    if (callee) {
      // Only the arguments of the named calls; the rest of such a file is trace and protocol.
      if ((ts.isNewExpression(n) || ts.isCallExpression(n)) && callee.test(n.expression.getText(sf))) {
        for (const a of n.arguments ?? []) collect(a);
        return;
      }
      ts.forEachChild(n, visit);
      return;
    }
    collect(n);
  };
  const collect = (n: ts.Node): void => {
    let shape: string | null = null;
    if (ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n)) shape = n.text;
    else if (ts.isTemplateExpression(n)) shape = n.head.text + n.templateSpans.map((s) => `{}${s.literal.text}`).join('');
    if (shape !== null && / /.test(shape) && /[A-Za-z]{3,}/.test(shape)) out.push(shape);
    ts.forEachChild(n, callee ? collect : visit);
  };
  visit(sf);
  return out;
}

describe('service texts in Japanese', () => {
  it('every sentence shape of the policy engine and the supervisor has Japanese', () => {
    const known = new Set(Object.keys(SERVICE_TEXT_JA).map(shapeKey));
    const missing: string[] = [];
    let count = 0;
    const shapes = [
      ...SOURCES.flatMap((file) => sentenceShapes(file).map((shape) => ({ file, shape }))),
      ...CALL_SOURCES.flatMap(({ file, callee }) => sentenceShapes(file, callee).map((shape) => ({ file, shape }))),
    ];
    for (const { file, shape } of shapes) {
      count++;
      // A stderr line keeps its `sekisho <service>: ` prefix out (exit-reason.ts drops it).
      const s = shape.replace(/^sekisho receiver: (.*)\n$/, '$1');
      if (!known.has(s) && !NOT_SHOWN.has(s)) missing.push(`${file}: ${s}`);
    }
    expect(count).toBeGreaterThan(100);
    expect(missing).toEqual([]);
  });

  it('has no Japanese text left empty or still English, and keeps every placeholder', () => {
    for (const [en, ja] of Object.entries(SERVICE_TEXT_JA)) {
      expect(ja, en).toBeTruthy();
      const names = (s: string) => [...s.matchAll(/\{\*?(\w+)\}/g)].map((m) => m[1]).sort();
      expect(names(ja), en).toEqual(names(en));
      // Protocol words and identity shapes aside, a translation differs from the English.
      if (!/^(MAIL FROM|RCPT TO|sekisho |standing false)/.test(en) && !/^[^a-z]*$/.test(en.replace(/\{\*?\w+\}/g, ''))) {
        expect(ja, `${en} looks untranslated`).not.toBe(en);
      }
    }
  });

  const snap = makeSnapshot({
    domains: 'test.jp\n',
    gateway: 'branch.jp, 192.168.0.9, 25\ntest.jp, 192.168.0.10, 25\n',
    aliases: "sales@test.jp -> sales@test.jp\nb@test.jp -> bucho@test.jp\n*@wild.jp -> *@wild.jp\n",
    effect: '#<> default\n#blank false\n10.0.0.66 false\n*@spam.jp false\n192.168.0.1 true\n192.168.*.* norelay,2\n',
    accounts: { bucho: { password: 'pw' }, nopw: {} },
  });
  const NOW = { now: new Date(2026, 10, 23, 10, 0), verbose: true };
  // English words of the sentences: none may be left in a Japanese line (replies such as
  // "Relay access denied" are protocol text and stay; they are capitalized).
  const ENGLISH = /\b(accepted|refused|relay|allowed|matched|match|account|alias|route|standing|trusted|authenticated|recipient|verification|sender|local|domain|not|no)\b/;

  it.each([
    ['a LAN client', { client: '192.168.0.5', from: 'a@x.jp', to: ['b@test.jp', 'c@ext.jp', 'nobody@test.jp', 'x@wild.jp', 'q%r@test.jp'] }],
    ['an authenticated account sender', { client: '203.0.113.7', auth: 'BUCHO', from: '<bucho@test.jp>', to: ['c@ext.jp', 'postmaster'] }],
    ['accounts that cannot authenticate', { client: '203.0.113.7', auth: 'nopw', from: '', to: ['c@ext.jp'] }],
    ['a refused client', { client: '10.0.0.66', from: 'a@x.jp', to: ['b@test.jp'] }],
    ['a refused sender', { client: '203.0.113.7', from: 'x@SPAM.jp', to: ['b@test.jp'] }],
    ['a blank sender', { client: '203.0.113.7', from: '#blank', to: ['b@test.jp'] }],
    ['a trusted host', { client: '192.168.0.1', from: 'bucho@test.jp', to: ['c@ext.jp', 'u@test.jp'] }],
    ['a bad address', { client: '192.168.0.5', from: 'a@@x', to: ['b@test.jp'] }],
  ])('the policy tester in Japanese: %s', (_name, req) => {
    const r = explain(snap, req, NOW);
    const lines = [...r.text.map((l) => l.trim()), r.connect.reason, r.mailFrom.reason, ...r.recipients.flatMap((x) => [x.reason, ...x.trace])];
    for (const line of lines) {
      // A rule named alone (`effect.dat:6 192.168.*.* default`) is no sentence.
      if (!/ [a-z]{3,}/.test(line.replace(/\S+\.dat:\d+ \S+( \S+)?$/, '').replace(/\S*@\S*/g, ''))) continue;
      expect(hasServiceText(line), line).toBe(true);
      const ja = serviceText(line, 'ja');
      const withoutReplies = ja.replace(/\b[245]\d\d [245]\.\d+\.\d+ [^()]*/g, '').replace(/<[^>]*>/g, '').replace(/\S+\.(dat|json)(:\d+)?/g, '');
      expect(withoutReplies, `${line}\n→ ${ja}`).not.toMatch(ENGLISH);
    }
  });

  it('translates the tester lines as an administrator reads them', () => {
    expect(serviceText('connect 203.0.113.7: accepted (no effect.dat line matched)', 'ja')).toBe('接続 203.0.113.7: 受付 (effect.dat のどの行にも一致しません)');
    expect(serviceText('RCPT TO:<c@ext.jp>: refused 554 5.7.1 <c@ext.jp>: Relay access denied (relay refused: standing default, not authenticated)', 'ja')).toBe(
      'RCPT TO:<c@ext.jp>: 拒否 554 5.7.1 <c@ext.jp>: Relay access denied (中継を拒否: 扱い default、未認証)',
    );
    expect(serviceText('RCPT TO:<b@test.jp>: accepted -> alias aliases.dat:3 b@test.jp -> bucho@test.jp; route test.jp -> gateway.dat:2 192.168.0.10:25', 'ja')).toBe(
      'RCPT TO:<b@test.jp>: 受付 -> エイリアス aliases.dat:3 b@test.jp -> bucho@test.jp; 配送経路 test.jp -> gateway.dat:2 192.168.0.10:25',
    );
    // English stays English; an unknown sentence is shown as it is.
    expect(serviceText('relay allowed: standing true', 'en')).toBe('relay allowed: standing true');
    expect(serviceText('something new', 'ja')).toBe('something new');
    expect(serviceText(null, 'ja')).toBe('');
  });

  it('translates the delivery failures the overview lists', () => {
    expect(serviceText('[09:06:07:001] [B0000000001] <a@example.jp> deferred (noanswer) host=127.0.0.1:25: ESOCKET connect ECONNREFUSED (host unreachable a moment ago, not tried again yet)', 'ja')).toBe(
      '[09:06:07:001] [B0000000001] <a@example.jp> 再送待ち (noanswer) ホスト=127.0.0.1:25: ESOCKET connect ECONNREFUSED (少し前に接続できなかったホストのため、まだ再試行していません)',
    );
    expect(serviceText('[14:30:07:000] [B0000000002-R0001] <d@example.jp> failed host=mx:25: 550 5.1.1 no such user', 'ja')).toBe(
      '[14:30:07:000] [B0000000002-R0001] <d@example.jp> 配送失敗 ホスト=mx:25: 550 5.1.1 no such user',
    );
  });

  it('translates exit reasons and start failures of the supervisor', () => {
    const reasons = [
      exitReason('receiver', ['Error: listen EADDRINUSE: address already in use 0.0.0.0:25'], 1, null),
      exitReason('receiver', ['sekisho receiver: port 2525 is already in use (EADDRINUSE)'], 1, null),
      exitReason('delivery', [], null, 'SIGKILL'),
      exitReason('delivery', [], 3, null),
      'stopped',
      'port 25: permission denied (EACCES); ports below 1024 need administrator rights',
      'did not report ready within 60 s',
      'killed after 20 s: did not stop within the grace period',
    ];
    expect(reasons.map((r) => serviceText(r, 'ja'))).toEqual([
      'ポート 25 は既に使用されています',
      'ポート 2525 は既に使用されています',
      'シグナル SIGKILL で強制終了しました',
      '終了コード 3 で終了しました',
      '停止しました',
      'ポート 25: 権限がありません (EACCES)。1024 未満のポートには管理者権限が必要です',
      '60 秒以内に起動完了を報告しませんでした',
      '20 秒以内に停止しなかったため強制終了しました',
    ]);
  });
});
