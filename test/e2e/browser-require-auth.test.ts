// The browser UI of `sekisho serve --require-auth` (the installed Windows service) with no
// control.password: real Chromium (playwright-core) against a real serve. The page asks for a
// login and says that control.secret's content opens it; the secret logs in, the tabs load and
// the event stream reaches the page (a service stopped elsewhere shows as stopped). Without the
// cookie, the login page again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { cliCommand } from '../../services/cli/spawn.js';
import { initWorkdir } from '../../services/config/init.js';
import { freePort } from '../../bench/lib/ports.js';
import { until } from './helpers/recipes-harness.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const SHOTS = join(ROOT, 'test-output', 'screenshots');
const CHROMIUM = '/usr/bin/chromium';

let base: string;
let dir: string;
let controlPort: number;
let serve: ChildProcess | null = null;
let serveOut = '';
let context: BrowserContext;
let page: Page;
const pageErrors: string[] = [];

/** Run a command to completion (bounded), failing with its output. */
function run(command: string, args: string[], timeoutMs: number): Promise<void> {
  return new Promise((ok, fail) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) ok();
      else fail(new Error(`${command} ${args.join(' ')} exited ${code}\n${out}`));
    });
  });
}

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
  await run(process.execPath, [join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', 'renderer/vite.config.ts', '--outDir', uiDir, '--emptyOutDir', '--logLevel', 'error'], 120_000);
  // A new installation: control.password empty.
  await initWorkdir(dir, { ports: [await freePort()], controlPort, hostname: 'gw.auth.test', postmaster: 'postmaster@auth.test', lang: 'ja' });

  const c = cliCommand(['serve', '--workdir', dir, '--static', uiDir, '--require-auth']);
  serve = spawn(c.command, c.args, { env: c.env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  serve.stdout!.on('data', (d) => (serveOut += d));
  serve.stderr!.on('data', (d) => (serveOut += d));
  await until(() => {
    if (serve!.exitCode !== null) throw new Error(`serve exited ${serve!.exitCode}: ${serveOut}`);
    return /^ready .*receiver=running/m.test(serveOut);
  }, 60_000, 'serve ready');

  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'],
    viewport: { width: 1024, height: 768 },
    locale: 'ja-JP',
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(10_000);
  page.on('pageerror', (err) => pageErrors.push(`pageerror: ${err.message}`));
  page.on('console', (m) => {
    // Before the login every call is refused: the 401s are what this test is about.
    if (m.type() === 'error' && !/status of 401/.test(m.text())) pageErrors.push(`console: ${m.text()}`);
  });
}, 180_000);

afterAll(async () => {
  await context?.close().catch(() => {});
  if (serve && serve.exitCode === null) {
    const exited = new Promise((r) => serve!.once('exit', r));
    serve.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
    if (serve.exitCode === null) serve.kill('SIGKILL');
  }
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
