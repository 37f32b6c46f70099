// Server settings → Recipient verification (issue 15) in a real browser (Debian Chromium
// through playwright-core) against a real `sekisho serve` whose receiver asks a real internal
// server: the section in Japanese and English, switching verification on saves settings.json,
// the answers the receiver learnt are listed, Clear and Clear all reach the running receiver.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, mkdir, rm, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { initWorkdir } from '../../services/config/init.js';
import { buildUi, CHROMIUM, firstPage, launchChromium, SHOTS, spawnCli, stopChild, waitFor as waitUntil } from './helpers/browser-harness.js';
import { readRecipientCache } from '../../services/config/recipient-cache.js';
import { freePort } from '../../bench/lib/ports.js';
import { session } from '../services/receiver/helpers.js';
import { startInternalServer, type InternalServer } from './helpers/internal-server.js';

let base: string;
let dir: string;
let uiDir: string;
let profile: string;
let smtpPort: number;
let controlPort: number;
let internal: InternalServer;
let serve: ChildProcess | null = null;
let serveOut = '';
let context: BrowserContext;
let page: Page;
const pageErrors: string[] = [];

function waitFor<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 20_000): Promise<T> {
  return waitUntil(what, fn, timeoutMs, () => serveOut);
}

/** One RCPT through the running receiver; its reply code. */
async function rcpt(address: string): Promise<number> {
  const c = await session(smtpPort);
  try {
    await c.cmd('MAIL FROM:<someone@outside.example>');
    return (await c.cmd(`RCPT TO:<${address}>`, 20_000)).code;
  } finally {
    c.close();
  }
}

const runBrowser = existsSync(CHROMIUM);

beforeAll(async () => {
  if (!runBrowser) return;
  base = await mkdtemp(join(tmpdir(), 'sekisho-browser-rc-'));
  uiDir = join(base, 'ui');
  profile = join(base, 'chromium');
  dir = join(base, 'mail');
  await mkdir(SHOTS, { recursive: true });
  [smtpPort, controlPort] = [await freePort(), await freePort()];
  internal = await startInternalServer({ users: ['taro@corp.example'] });

  await buildUi(uiDir, 180_000);
  await initWorkdir(dir, { ports: [smtpPort], controlPort, hostname: 'gw.e2e.test', postmaster: 'postmaster@e2e.test' });
  await writeFile(join(dir, 'gateway.dat'), `corp.example, 127.0.0.1, ${internal.port}\r\n`);
  await writeFile(join(dir, 'aliases.dat'), '*@corp.example -> *@corp.example\r\npostmaster@corp.example -> postmaster@corp.example\r\n');

  serve = spawnCli(['serve', '--workdir', dir, '--static', uiDir], (d) => (serveOut += d));
  await waitFor('serve ready', async () => /^ready .*receiver=running/m.test(serveOut), 60_000);

  context = await launchChromium(profile, { viewport: { width: 1280, height: 1400 }, locale: 'ja-JP' });
  page = await firstPage(context, pageErrors);
  // "Clear all" asks first.
  page.on('dialog', (d) => void d.accept());
}, 240_000);

afterAll(async () => {
  await context?.close().catch(() => {});
  await stopChild(serve);
  await internal?.close().catch(() => {});
  if (base) await rm(base, { recursive: true, force: true });
}, 60_000);

async function openSettings(): Promise<void> {
  await page.goto('about:blank');
  await page.goto(`http://127.0.0.1:${controlPort}/#tab=settings`);
  await page.getByTestId('tab-settings').waitFor();
  await page.getByTestId('settings-recipient-check').waitFor();
}

describe.skipIf(!runBrowser)('Settings → Recipient verification in the browser', () => {
  afterAll(() => {
    expect(pageErrors).toEqual([]);
  });

  it('switches verification on from the UI; the running receiver then refuses an unknown address', async () => {
    await openSettings();
    const section = page.getByTestId('settings-recipient-check');
    await expect.poll(() => section.locator('legend').textContent()).toBe('受信者の確認');
    // Before: mode A accepts anything.
    expect(await rcpt('ghost@corp.example')).toBe(250);
    await page.getByTestId('rcDomains').fill('corp.example');
    await page.getByTestId('rcDomains').dispatchEvent('change');
    await page.getByTestId('settings-save').click();
    await waitFor('settings.json saved', async () => JSON.parse(await readFile(join(dir, 'settings.json'), 'utf8')).recipientCheck?.domains?.[0] === 'corp.example');
    // Hot reload: the receiver asks the internal server from now on.
    await waitFor('ghost refused', async () => (await rcpt('ghost@corp.example')) === 550);
    expect(await rcpt('taro@corp.example')).toBe(250);
  });

  it('lists the cached answers in Japanese and English; Clear and Clear all edit verify-cache.json', async () => {
    await waitFor('answers written', async () => (await readRecipientCache(dir)).entries.length === 2);
    await openSettings();
    const rows = page.getByTestId('verify-cache-row');
    await expect.poll(() => rows.count()).toBe(2);
    const ghostRow = rows.filter({ hasText: 'ghost@corp.example' });
    await expect.poll(() => ghostRow.textContent()).toContain('存在しない');
    expect(await ghostRow.textContent()).toContain(`127.0.0.1:${internal.port}`);
    await page.getByTestId('settings-recipient-check').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(SHOTS, 'ja-settings-recipient-check.png'), fullPage: true });

    await page.getByTestId('lang').selectOption('en');
    await expect.poll(() => page.getByTestId('settings-recipient-check').locator('legend').textContent()).toBe('Recipient verification');
    await expect.poll(() => ghostRow.textContent()).toContain('Unknown (refused)');
    await page.screenshot({ path: join(SHOTS, 'en-settings-recipient-check.png'), fullPage: true });

    const asked = internal.rcpts.length;
    await ghostRow.getByTestId('verify-cache-clear').click();
    await expect.poll(() => rows.count()).toBe(1);
    expect((await readRecipientCache(dir)).entries.map((e) => e.address)).toEqual(['taro@corp.example']);
    // The running receiver forgets it and asks again.
    await waitFor('ghost asked again', async () => (await rcpt('ghost@corp.example')) === 550 && internal.rcpts.length > asked);

    // The new answer reaches the file within a few seconds (written at most every 3 s).
    await waitFor('the new answer written', async () => (await readRecipientCache(dir)).entries.length === 2);
    await page.getByTestId('verify-cache-refresh').click();
    await expect.poll(() => rows.count()).toBe(2);
    await page.getByTestId('verify-cache-clear-all').click();
    await page.getByTestId('verify-cache-empty').waitFor();
    expect((await readRecipientCache(dir)).entries).toEqual([]);
    await page.getByTestId('lang').selectOption('ja');
  });
});
