// Mail Control for daily use (issue 13), in a real browser (Debian Chromium through
// playwright-core) in Japanese at 1024×768 against a real `sekisho serve` with its receiver
// and delivery children: the overview first; an edit that survives switching tabs; a broken
// file counted as an error in the header and the overview, whose service cards say the old
// version is in force; a message queued for a dead next hop, a sink started, Retry now →
// delivered within seconds and counted; one log search finding lines in several logs; and a
// scan of every tab of the Japanese UI for English words.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, mkdir, rm, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { initWorkdir } from '../../services/config/init.js';
import { buildUi, CHROMIUM, firstPage, launchChromium, SHOTS, spawnCli, stopChild, api as controlApi, waitFor as waitUntil } from './helpers/browser-harness.js';
import { freePort } from '../../bench/lib/ports.js';
import { session, message } from '../services/receiver/helpers.js';
import { startSmtpSink } from '../services/delivery/helpers/servers.js';

const RCPT = 'tanaka@remote.example';
// Every tab of the app, in menu order (App.svelte).
const TABS = ['overview', 'settings', 'routing', 'relay', 'aliases', 'domains', 'accounts', 'services', 'tls', 'queue', 'logs', 'policy', 'version'];

let base: string;
let dir: string;
let uiDir: string;
let profile: string;
let sinkDir: string;
let smtpPort: number;
let controlPort: number;
let hopPort: number;
let serve: ChildProcess | null = null;
let serveOut = '';
let sink: { close(): Promise<void> } | null = null;
let context: BrowserContext;
let page: Page;
const pageErrors: string[] = [];

function api<T = unknown>(method: string, ...args: unknown[]): Promise<T> {
  return controlApi<T>(controlPort, method, ...args);
}

function waitFor<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 20_000): Promise<T> {
  return waitUntil(what, fn, timeoutMs, () => serveOut);
}

const GATEWAY_GOOD = () => `' 配送先\r\nremote.example, 127.0.0.1, ${hopPort}\r\n`;
// Relay from this machine is trusted (above `#<>`, so its bounces are trusted too).
const EFFECT = "' 中継設定\r\n127.0.0.1 true\r\n#<> default\r\n#blank false\r\n";

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'sekisho-daily-'));
  dir = join(base, 'mail');
  uiDir = join(base, 'ui');
  sinkDir = join(base, 'sink');
  await mkdir(sinkDir);
  profile = await mkdtemp(join(tmpdir(), 'sekisho-chromium-'));
  await mkdir(SHOTS, { recursive: true });
  [smtpPort, controlPort, hopPort] = [await freePort(), await freePort(), await freePort()];

  // The UI as shipped, built into a folder of its own (other tests may build dist/ meanwhile).
  await buildUi(uiDir);

  await initWorkdir(dir, { ports: [smtpPort], controlPort, hostname: 'gw.daily.test', postmaster: 'postmaster@daily.test', lang: 'ja' });
  await writeFile(join(dir, 'effect.dat'), EFFECT);
  // Nothing listens on hopPort yet: mail for remote.example stays queued.
  await writeFile(join(dir, 'gateway.dat'), GATEWAY_GOOD());
  // A retry an hour later: only "Retry now" can deliver within this test.
  const settings = JSON.parse(await readFile(join(dir, 'settings.json'), 'utf8'));
  settings.delivery.retryIntervalSec = 3600;
  await writeFile(join(dir, 'settings.json'), JSON.stringify(settings, null, 2));

  serve = spawnCli(['serve', '--workdir', dir, '--static', uiDir], (d) => (serveOut += d));
  await waitFor('serve ready', async () => /^ready .*receiver=running/m.test(serveOut), 60_000);

  context = await launchChromium(profile, { viewport: { width: 1024, height: 768 }, locale: 'ja-JP' });
  // The refused duplicate account is a 409 answer the test asks for (Chromium logs it).
  page = await firstPage(context, pageErrors, /status of 409/);
}, 180_000);

afterAll(async () => {
  await context?.close().catch(() => {});
  await sink?.close().catch(() => {});
  await stopChild(serve);
  if (base) await rm(base, { recursive: true, force: true });
  if (profile) await rm(profile, { recursive: true, force: true });
}, 60_000);

const tabButton = (id: string) => page.locator(`nav button[data-tab="${id}"]`);
const pane = (id: string) => page.getByTestId(`tab-${id}`);
const routingRow = (n: number) => pane('routing').locator(`[data-testid="table-editor"] tr[data-line="${n}"]`);

async function show(id: string): Promise<void> {
  await tabButton(id).click();
  await pane(id).waitFor({ state: 'visible' });
}

/** Send one message from this machine to RCPT (relay allowed by effect.dat). */
async function sendMail(): Promise<void> {
  const c = await session(smtpPort, 'pc01.lan.test');
  try {
    expect((await c.cmd('MAIL FROM:<suzuki@lan.test>')).code).toBe(250);
    expect((await c.cmd(`RCPT TO:<${RCPT}>`)).code).toBe(250);
    expect((await c.cmd('DATA')).code).toBe(354);
    c.write(`${message('daily e2e')}.\r\n`);
    expect((await c.read()).code).toBe(250);
    await c.cmd('QUIT').catch(() => null);
  } finally {
    c.close();
  }
}

type Entry = { id: string; recipients: Array<{ attempts: number; lastReply: string | null }> };

describe('Mail Control for daily use, Japanese at 1024×768', () => {
  afterAll(() => {
    // No script error and no CSP violation anywhere in the session.
    expect(pageErrors).toEqual([]);
  });

  it('opens on the overview: both services running, queue 0', async () => {
    await page.goto(`http://127.0.0.1:${controlPort}/`);
    await pane('overview').waitFor();
    expect(await tabButton('overview').getAttribute('aria-current')).toBe('page');
    await expect.poll(() => pane('overview').getByTestId('overview-receiver').getAttribute('data-state'), { timeout: 20_000 }).toBe('running');
    await expect.poll(() => pane('overview').getByTestId('overview-delivery').getAttribute('data-state')).toBe('running');
    expect(await pane('overview').getByTestId('overview-receiver').getByTestId('service-state').textContent()).toBe('稼働中');
    await expect.poll(() => pane('overview').getByTestId('queue-count').textContent()).toBe('0 通が配送待ち');
    await expect.poll(() => page.getByTestId('errors-button').textContent().then((t) => t?.trim())).toBe('✖ エラー: 0');
    await pane('overview').getByTestId('overview-counters').waitFor();
    await page.screenshot({ path: join(SHOTS, 'ja-overview.png') });
  });

  it('an edit of gateway.dat survives switching tabs; leaving the page with it asks first', async () => {
    await show('routing');
    await expect.poll(() => pane('routing').locator('tbody tr').count()).toBe(2);
    await routingRow(2).locator('.cell').first().click();
    await pane('routing').getByTestId('add-row').click();
    await routingRow(3).locator('input[data-col="0"]').fill('branch.example');
    await routingRow(3).locator('input[data-col="1"]').fill('192.168.10.25');
    await expect.poll(() => pane('routing').getByTestId('dirty').count()).toBe(1);
    // "Add rule above" puts a row before the selected one.
    await routingRow(3).locator('input[data-col="0"]').click();
    await pane('routing').getByTestId('add-row-above').click();
    await routingRow(3).locator('input[data-col="0"]').fill('hq.example');
    await routingRow(3).locator('input[data-col="1"]').fill('192.168.10.26');
    expect(await routingRow(4).locator('input[data-col="0"]').inputValue()).toBe('branch.example');

    // At 1024 px a long comment wraps inside its row instead of being cut off.
    const comment = routingRow(1).locator('textarea.cell');
    await comment.fill("' 配送先: 本社の社内メールサーバー (192.168.10.25) と支社のサーバー (192.168.10.26)。本社が止まっているときは支社に送ります。変更したら必ず保存してください。");
    const box = await comment.evaluate((el) => ({ sw: el.scrollWidth, cw: el.clientWidth, h: el.getBoundingClientRect().height, line: parseFloat(getComputedStyle(el).lineHeight) }));
    expect(box.sw).toBeLessThanOrEqual(box.cw + 1);
    expect(box.h).toBeGreaterThan(box.line * 1.5); // more than one line tall

    await show('relay');
    await show('overview');
    await show('routing');
    expect(await routingRow(3).locator('input[data-col="0"]').inputValue()).toBe('hq.example');
    expect(await routingRow(4).locator('input[data-col="1"]').inputValue()).toBe('192.168.10.25');
    expect(await pane('routing').getByTestId('dirty').count()).toBe(1);

    // A reload would lose them: the browser asks first (beforeunload); staying keeps them.
    let dialog = '';
    page.once('dialog', (d) => {
      dialog = d.type();
      void d.dismiss();
    });
    await page.evaluate(() => setTimeout(() => location.reload(), 0));
    await expect.poll(() => dialog).toBe('beforeunload');
    expect(await routingRow(3).locator('input[data-col="0"]').inputValue()).toBe('hq.example');
    expect(await pane('routing').getByTestId('dirty').count()).toBe(1);
  });

  it('a broken line: the refused save keeps the edit; on disk it is 1 error in the header and the overview, the old version in force', async () => {
    await routingRow(4).locator('input[data-col="2"]').fill('abc');
    await expect.poll(() => routingRow(4).locator('.diag.error').count(), { timeout: 10_000 }).toBeGreaterThan(0);
    await pane('routing').getByTestId('save').click();
    await expect.poll(() => pane('routing').getByTestId('invalid-notice').count()).toBe(1);
    expect(await routingRow(4).locator('input[data-col="2"]').inputValue()).toBe('abc');
    expect(await readFile(join(dir, 'gateway.dat'), 'utf8')).toBe(GATEWAY_GOOD());

    // The same line saved on disk by another editor (Notepad): the services refuse the file.
    await writeFile(join(dir, 'gateway.dat'), `${GATEWAY_GOOD()}branch.example, 192.168.10.25, abc\r\n`);
    await expect.poll(() => page.getByTestId('errors-button').textContent().then((t) => t?.trim()), { timeout: 15_000 }).toBe('✖ エラー: 1');
    expect(await page.getByTestId('errors-button').getAttribute('class')).toContain('err');
    // The editor was dirty: it says the file changed on disk, and that the disk version is not applied.
    await expect.poll(() => pane('routing').getByTestId('conflict-notice').count()).toBe(1);
    await expect.poll(() => pane('routing').getByTestId('not-in-force').count()).toBe(1);
    await page.screenshot({ path: join(SHOTS, 'ja-routing-error.png') });

    await show('overview');
    await expect.poll(() => pane('overview').getByTestId('overview-errors').textContent()).toBe('エラー: 1');
    for (const name of ['receiver', 'delivery']) {
      const note = pane('overview').getByTestId(`overview-${name}`).getByTestId('config-not-applied');
      await expect.poll(() => note.textContent()).toContain('gateway.dat:3:');
      expect(await note.textContent()).toContain('前回の正しい設定で動作');
    }
    // `file:line:col` and the message are apart.
    expect(await pane('overview').getByTestId('overview-error-list').textContent()).toMatch(/gateway\.dat:3(:\d+)? エラー/);
    await page.screenshot({ path: join(SHOTS, 'ja-overview-error.png') });

    // Put the good file back: the error goes away; the editor shows the file as it is.
    await writeFile(join(dir, 'gateway.dat'), GATEWAY_GOOD());
    await expect.poll(() => page.getByTestId('errors-button').textContent().then((t) => t?.trim()), { timeout: 15_000 }).toBe('✖ エラー: 0');
    await expect.poll(() => pane('overview').getByTestId('config-not-applied').count()).toBe(0);
    await show('routing');
    await pane('routing').getByTestId('reload').click();
    await expect.poll(() => pane('routing').locator('tbody tr').count()).toBe(2);
    expect(await pane('routing').getByTestId('dirty').count()).toBe(0);
  }, 60_000);

  it('a message for a dead next hop: start the sink, Retry now → delivered within seconds, in the queue and the counters', async () => {
    await sendMail();
    // Delivery tried once and failed (nothing listens): the message waits, an hour away.
    const first = await waitFor('a failed attempt', async () => {
      const q = await api<Entry[]>('listQueue');
      if (q.length === 1 && q[0].recipients[0].attempts >= 1 && q[0].recipients[0].lastReply) return q[0];
      throw new Error(`queue: ${JSON.stringify(q)}`); // shown when the wait times out
    }, 60_000);
    await show('overview');
    await expect.poll(() => pane('overview').getByTestId('queue-count').textContent(), { timeout: 10_000 }).toBe('1 通が配送待ち');

    await show('queue');
    const row = pane('queue').locator(`tr[data-id="${first.id}"]`);
    await row.waitFor();
    expect(await row.getByTestId('queue-rcpts').textContent()).toContain(RCPT);
    await page.screenshot({ path: join(SHOTS, 'ja-queue.png') });
    // The waiting message with its details open, and the overview with it: Japanese but for
    // addresses, the next hop's reply and the log line.
    await row.getByRole('button', { name: '宛先と応答' }).click();
    await pane('queue').locator('.inner').waitFor();
    expect(await englishOn('queue')).toEqual([]);
    await show('overview');
    expect(await englishOn('overview')).toEqual([]);
    await show('queue');

    sink = await startSmtpSink(sinkDir, hopPort);
    await row.getByRole('button', { name: '今すぐ再送' }).click();
    // The next automatic attempt is an hour away (retryIntervalSec): only the retry can deliver
    // it within this wait (bounded, generous for a loaded machine; no timing is asserted).
    await expect.poll(() => row.count(), { timeout: 20_000 }).toBe(0);
    await expect.poll(() => pane('queue').getByText('キューから消えました').count(), { timeout: 15_000 }).toBe(1);
    expect(await api<Entry[]>('listQueue')).toEqual([]);

    await show('overview');
    await expect.poll(() => pane('overview').getByTestId('queue-count').textContent(), { timeout: 10_000 }).toBe('0 通が配送待ち');
    await expect.poll(() => pane('overview').getByTestId('count-delivered').getAttribute('data-value'), { timeout: 15_000 }).toBe('1');
    expect(Number(await pane('overview').getByTestId('count-accepted').getAttribute('data-value'))).toBeGreaterThanOrEqual(1);
    expect(Number(await pane('overview').getByTestId('count-deferred').getAttribute('data-value'))).toBeGreaterThanOrEqual(1);
    await page.screenshot({ path: join(SHOTS, 'ja-overview-delivered.png') });
  }, 120_000);

  it('searching the logs for the address finds lines in several logs, merged by time; the accept log hints at the others', async () => {
    await show('logs');
    await pane('logs').getByTestId('log-search').fill(RCPT);
    await pane('logs').getByTestId('log-search-run').click();
    // Until the answer comes, the tab still shows the day's three logs as opened (unsearched).
    await expect.poll(() => pane('logs').getByTestId('log-count').textContent(), { timeout: 10_000 }).toMatch(/行見つかりました/);
    const kinds = async () => new Set(await pane('logs').locator('[data-testid="log-lines"] tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-kind'))));
    await expect.poll(async () => [...(await kinds())].sort(), { timeout: 10_000 }).toEqual(expect.arrayContaining(['receive', 'sender']));
    const labels = await pane('logs').getByTestId('log-kind').allTextContents();
    expect(new Set(labels)).toEqual(new Set(['受信', '配送']));
    // Merged by time: the receive lines (the SMTP dialogue) come before the delivery lines.
    const order = await pane('logs').locator('[data-testid="log-lines"] tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-kind')));
    expect(order.indexOf('receive')).toBeLessThan(order.lastIndexOf('sender'));
    await page.screenshot({ path: join(SHOTS, 'ja-logs-search.png') });

    // The date picker is a real date input with today's date (the files' YYMMDD).
    expect(await pane('logs').getByTestId('log-day').getAttribute('type')).toBe('date');
    expect(await pane('logs').getByTestId('log-day').inputValue()).toMatch(/^20\d\d-\d\d-\d\d$/);

    // The accept log holds IP addresses, no mail addresses: no hit there, a pointer to the others.
    await pane('logs').getByTestId('log-accept').click();
    await expect.poll(() => pane('logs').getByTestId('log-hint').count(), { timeout: 10_000 }).toBe(1);
    expect(await pane('logs').getByTestId('log-elsewhere-sender').count()).toBe(1);
    await pane('logs').getByTestId('log-all').click();
  });

  it('Debug says it restarts the service and asks; cancelled, the service runs on as it was', async () => {
    type S = { name: string; pid: number | null; debug: boolean; state: string };
    const receiver = async () => (await api<S[]>('serviceStatus')).find((x) => x.name === 'receiver')!;
    const before = await receiver();
    await show('services');
    let asked = '';
    page.once('dialog', (d) => {
      asked = d.message();
      void d.dismiss();
    });
    await pane('services').getByTestId('service-receiver').getByTestId('debug').click();
    await expect.poll(() => asked).toContain('デバッグモードで今すぐ再起動');
    expect(await page.getByTestId('debug-console').count()).toBe(0);
    const after = await receiver();
    expect([after.pid, after.debug, after.state]).toEqual([before.pid, false, 'running']);
  });

  it('the overview stops and starts a service', async () => {
    await show('overview');
    const card = pane('overview').getByTestId('overview-delivery');
    await expect.poll(() => card.getAttribute('data-state')).toBe('running');
    await card.getByTestId('stop').click();
    await expect.poll(() => card.getAttribute('data-state'), { timeout: 30_000 }).toBe('stopped');
    expect(await card.getByTestId('service-state').textContent()).toBe('停止');
    await card.getByTestId('start').click();
    await expect.poll(() => card.getAttribute('data-state'), { timeout: 30_000 }).toBe('running');
    // Service control says why it last stopped, in Japanese.
    await show('services');
    await expect.poll(() => pane('services').getByTestId('service-delivery').textContent()).toContain('停止しました');
  }, 90_000);

  it('accounts have their own tab; the CRAM-MD5 choice stores the password reversibly, with a warning', async () => {
    await show('accounts');
    await pane('accounts').getByTestId('new-user').fill('suzuki');
    await pane('accounts').getByTestId('new-password').fill('cram-pass-9');
    expect(await pane('accounts').getByTestId('reversible-warning').count()).toBe(0);
    await pane('accounts').getByTestId('new-reversible').check();
    expect(await pane('accounts').getByTestId('reversible-warning').textContent()).toContain('平文で保存');
    await page.screenshot({ path: join(SHOTS, 'ja-accounts-cram.png') });
    await pane('accounts').getByRole('button', { name: '作成' }).click();
    const row = pane('accounts').locator('tr[data-user="suzuki"]');
    await expect.poll(() => row.getByTestId('password-kind').getAttribute('data-kind'), { timeout: 10_000 }).toBe('plain');
    expect(await row.getByTestId('password-kind').textContent()).toContain('CRAM-MD5 可');
    // Reversible means the password itself in apop.dat (what CRAM-MD5, RFC 2195, needs).
    expect((await readFile(join(dir, 'inbox', 'suzuki', 'apop.dat'), 'utf8')).trim()).toBe('cram-pass-9');
    // Setting a new password without the choice hashes it.
    await row.getByRole('button', { name: 'パスワード設定' }).click();
    await row.getByTestId('set-reversible').uncheck();
    await row.getByTestId('set-password').fill('hashed-pass-9');
    await row.getByRole('button', { name: 'OK' }).click();
    await expect.poll(() => row.getByTestId('password-kind').getAttribute('data-kind'), { timeout: 10_000 }).toBe('hashed');
    expect(await readFile(join(dir, 'inbox', 'suzuki', 'apop.dat'), 'utf8')).not.toContain('hashed-pass-9');
    // A refusal of the control API is shown in Japanese too.
    await pane('accounts').getByTestId('new-user').fill('suzuki');
    await pane('accounts').getByTestId('new-password').fill('again-pass-9');
    await pane('accounts').getByRole('button', { name: '作成' }).click();
    await expect.poll(() => pane('accounts').getByTestId('account-message').textContent()).toContain('既にあります');
    expect(await englishOn('accounts')).toEqual([]);
  });

  it('no English text on any tab of the Japanese UI (except file names, addresses and protocol text)', async () => {
    await api('createAccount', 'postmaster', 'secret-pw-1');
    // Texts the services send: an exit reason (a restart), a policy decision and its trace.
    await api('restartService', 'delivery');
    await waitFor('delivery running again', async () => (await api<Array<{ name: string; state: string; lastExit: unknown }>>('serviceStatus')).some((s) => s.name === 'delivery' && s.state === 'running' && s.lastExit));
    await show('policy');
    await pane('policy').getByTestId('explain-client').fill('10.9.8.7');
    await pane('policy').getByTestId('explain-from').fill('someone@outside.example');
    await pane('policy').getByTestId('explain-to').fill(RCPT);
    await pane('policy').getByTestId('explain-run').click();
    await pane('policy').getByTestId('explain-result').waitFor();
    // The trace wraps at 1024 px (nothing cut off, no sideways scrolling).
    const trace = await pane('policy').getByTestId('explain-text').evaluate((el) => ({ sw: el.scrollWidth, cw: el.clientWidth }));
    expect(trace.sw).toBeLessThanOrEqual(trace.cw + 1);
    await page.screenshot({ path: join(SHOTS, 'ja-policy-1024.png') });
    // The header's list of warnings, open.
    await page.getByTestId('warnings-button').click();
    const found: string[] = [];
    for (const id of TABS) {
      await show(id);
      await expect.poll(() => pane(id).getByText('読み込み中…').count()).toBe(0);
      await page.waitForTimeout(300);
      for (const w of await englishOn(id)) found.push(`${id}: ${w}`);
    }
    expect(found).toEqual([]);
  }, 120_000);
});

/** English words in what the Japanese UI shows on a tab (its text, tooltips, placeholders). */
async function englishOn(id: string): Promise<string[]> {
  const words = await page.evaluate((tabId) => {
    const out: string[] = [];
    const visible = (el: Element) => !!(el as HTMLElement).offsetParent || el.tagName === 'OPTION';
    const roots = [document.querySelector('header'), document.querySelector('[data-testid="warnings"]'), document.querySelector('nav'), document.querySelector(`[data-testid="tab-${tabId}"]`)];
    for (const root of roots) {
      if (!root) continue;
      const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
      for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        const el = n.parentElement!;
        // Shown as written, not UI text: log lines, SMTP replies, table contents, the
        // debug trace, file names and addresses (marked monospace), language names.
        // The policy trace is not exempt: its lines are translated (service-text.ts).
        if (!visible(el) || el.closest('.mono, pre:not([data-testid="explain-text"]), code, [data-testid="log-lines"], [data-testid="table-editor"] tbody, option, .file, .fmt')) continue;
        out.push(n.textContent ?? '');
      }
      // The comment lines `init --lang ja` wrote into the table files (issue 13).
      for (const el of root.querySelectorAll<HTMLTextAreaElement>('textarea.cell.comment')) if (visible(el)) out.push(el.value.replace(/\S+@\S+/g, ' '));
      for (const el of root.querySelectorAll('[placeholder], [title], [aria-label]')) {
        if (!visible(el) || el.closest('[data-testid="table-editor"] tbody')) continue;
        for (const a of ['placeholder', 'title', 'aria-label']) if (el.getAttribute(a)) out.push(el.getAttribute(a)!);
      }
    }
    return out;
  }, id);
  return englishWords(words.join('\n'));
}

/**
 * English words in UI text: runs of 3+ Latin letters with a lowercase letter that are not an
 * allowed term. Allowed: file names and paths, addresses, host names, SMTP commands and
 * replies, acronyms (all capitals), and the few product / file-syntax words admins type.
 */
function englishWords(text: string): string[] {
  const ALLOWED = new Set([
    'Sekisho', 'sekisho', 'serve', 'explain', 'check', 'init', // product and CLI names
    'true', 'default', 'false', 'only', 'norelay', 'blank', // effect.dat actions (file syntax)
    'accept', 'receive', 'sender', // the log files' names
    'usetime', 'offsmtp', 'inbox', 'incoming', 'spare', 'user', // work-folder names (SPEC 7)
    'Shift', 'Electron', 'Node', 'Chromium', 'scrypt', 'multipart', 'mixed',
    'Received', 'postmaster', // a header field (RFC 5322 3.6.7) and the mailbox name (RFC 5321 4.5.1)
    'Ctrl', // keyboard shortcuts in tooltips
    'suzuki', 'tanaka', // account names (an address's local part) in this test's notices
  ]);
  const cleaned = text
    .replace(/\S+@\S+/g, ' ') // addresses
    .replace(/[\w./\\:-]+\.(dat|json|log|pem|txt|md)\b/gi, ' ') // file names
    .replace(/\b\d{3}[ -]\S*.*$/gm, ' ') // SMTP replies ("550 5.1.1 …")
    .replace(/\b(MAIL FROM|RCPT TO|HELO|EHLO|STARTTLS|AUTH|VRFY|EXPN|DATA|QUIT|RSET)\b/g, ' ')
    .replace(/\b[a-z0-9-]+(\.[a-z0-9-]+)+\b/gi, ' '); // host names, IPs, versions
  const out: string[] = [];
  for (const m of cleaned.matchAll(/[A-Za-z][A-Za-z'-]{2,}/g)) {
    const w = m[0];
    if (!/[a-z]/.test(w) || ALLOWED.has(w) || /^[A-Z0-9_-]+$/.test(w)) continue;
    out.push(w);
  }
  return [...new Set(out)];
}

it.skipIf(existsSync(CHROMIUM))('chromium is installed', () => {
  throw new Error(`${CHROMIUM} is missing (apt-get install chromium)`);
});
