// The browser UI of `sekisho serve --require-auth` (the installed Windows service) with no
// control.password: real Chromium (playwright-core) against a real serve. The page asks for a
// login and says that control.secret's content opens it; the secret logs in, the tabs load and
// the event stream reaches the page (a service stopped elsewhere shows as stopped). Without the
// cookie, the login page again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { initWorkdir } from '../../services/config/init.js';
import { buildUi, CHROMIUM, firstPage, launchChromium, SHOTS, spawnCli, stopChild } from './helpers/browser-harness.js';
import { freePort } from '../../bench/lib/ports.js';
import { until } from './helpers/recipes-harness.js';

let base: string;
let dir: string;
let controlPort: number;
let serve: ChildProcess | null = null;
let serveOut = '';
let context: BrowserContext;
let page: Page;
const pageErrors: string[] = [];

async function withSecret(method: string, ...args: unknown[]): Promise<Response> {
  const secret = (await readFile(join(dir, 'control.secret'), 'utf8')).trim();
  return fetch(`http://127.0.0.1:${controlPort}/api/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}` },
    body: JSON.stringify({ args }),
  });
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) return;
  base = await mkdtemp(join(tmpdir(), 'sekisho-browser-auth-'));
  dir = join(base, 'mail');
  const uiDir = join(base, 'ui');
  const profile = join(base, 'chromium');
  await mkdir(SHOTS, { recursive: true });
  controlPort = await freePort();
  // The UI as shipped, built into a folder of its own (other tests may build dist/ meanwhile).
  await buildUi(uiDir);
  // A new installation: control.password empty.
  await initWorkdir(dir, { ports: [await freePort()], controlPort, hostname: 'gw.auth.test', postmaster: 'postmaster@auth.test', lang: 'ja' });

  serve = spawnCli(['serve', '--workdir', dir, '--static', uiDir, '--require-auth'], (d) => (serveOut += d));
  await until(() => {
    if (serve!.exitCode !== null) throw new Error(`serve exited ${serve!.exitCode}: ${serveOut}`);
    return /^ready .*receiver=running/m.test(serveOut);
  }, 60_000, 'serve ready');

  context = await launchChromium(profile, { viewport: { width: 1024, height: 768 }, locale: 'ja-JP' });
  // Before the login every call is refused: the 401s are what this test is about.
  page = await firstPage(context, pageErrors, /status of 401/);
}, 180_000);

afterAll(async () => {
  await context?.close().catch(() => {});
  await stopChild(serve);
  if (base) await rm(base, { recursive: true, force: true });
}, 60_000);

describe.runIf(existsSync(CHROMIUM))('the browser UI of serve --require-auth', () => {
  it('asks for a login that takes control.secret, then the UI and its event stream work', async () => {
    await page.goto(`http://127.0.0.1:${controlPort}/#tab=services`);
    await page.getByTestId('login-password').waitFor();
    expect(await page.getByTestId('login-secret-hint').textContent()).toContain('control.secret');
    expect(await page.getByTestId('tab-services').count()).toBe(0);
    await page.screenshot({ path: join(SHOTS, 'ja-login-secret.png') });

    await page.getByTestId('login-password').fill('0'.repeat(64));
    await page.getByTestId('login-password').press('Enter');
    await expect.poll(() => page.getByRole('alert').textContent()).toBe('パスワードが違います。');

    // What the administrator pastes after `type C:\mail\control.secret | clip`.
    await page.getByTestId('login-password').fill((await readFile(join(dir, 'control.secret'), 'utf8')).trim());
    await page.getByTestId('login-password').press('Enter');
    await page.getByTestId('tab-services').waitFor();
    await expect.poll(() => page.getByTestId('service-receiver').getAttribute('data-state'), { timeout: 15_000 }).toBe('running');

    // A change made elsewhere (the app, `sekisho`) reaches the page over /api/events with the cookie.
    expect((await withSecret('stopService', 'receiver')).status).toBe(200);
    await expect.poll(() => page.getByTestId('service-receiver').getAttribute('data-state'), { timeout: 15_000 }).toBe('stopped');
    expect((await withSecret('startService', 'receiver')).status).toBe(200);
    await expect.poll(() => page.getByTestId('service-receiver').getAttribute('data-state'), { timeout: 15_000 }).toBe('running');

    // Another browser (no session cookie): the login page again.
    await context.clearCookies();
    await page.reload();
    await page.getByTestId('login-password').waitFor();
    expect(pageErrors).toEqual([]);
  }, 120_000);
});
