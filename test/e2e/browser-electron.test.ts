// The desktop app's renderer path without the Electron binary: the built UI loaded from
// file:// in Debian Chromium, with `window.sekisho` (what electron/preload.cts exposes)
// bridged to this test process, where each call goes through electron/ipc-policy.ts
// dispatchCall onto the real ControlApi, and pushed events come from the real work-folder
// watcher — the same pieces electron/main.ts wires to ipcMain.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtemp, rm, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { dispatchCall } from '../../electron/ipc-policy.js';
import { eventTargets } from '../../electron/event-routing.js';
import { debugServiceFromUrl } from '../../electron/debug-console.js';
import { createControlApi } from '../../services/control/handlers.js';
import { ControlEventBus } from '../../services/control/events.js';
import { watchWorkFolder } from '../../services/control/file-events.js';
import { Supervisor } from '../../services/supervisor/index.js';
import { initWorkdir } from '../../services/config/init.js';
import { buildUi, launchChromium, SHOTS } from './helpers/browser-harness.js';
import type { ControlEvent } from '../../services/control/api.js';

let base: string;
let dir: string;
let indexUrl: string;
let context: BrowserContext;
let page: Page;
let folder: { close(): void };
const bus = new ControlEventBus();
const pageErrors: string[] = [];
const refused: string[] = [];

// What the preload exposes, rebuilt on top of two bindings into this process.
const BRIDGE = `
  (() => {
    const listeners = new Set();
    window.__sekishoEvent = (ev) => { for (const l of listeners) l(ev); };
    window.sekisho = Object.freeze({
      call: (method, ...args) => window.__sekishoCall(String(method), args),
      onEvent: (cb) => { const l = (ev) => cb(ev); listeners.add(l); return () => listeners.delete(l); },
    });
  })();
`;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'sekisho-electron-ui-'));
  const ui = join(base, 'renderer');
  await buildUi(ui);
  indexUrl = pathToFileURL(join(ui, 'index.html')).toString();
  dir = join(base, 'mail');
  await initWorkdir(dir, { ports: [2525] });

  // The services are not started: this test is about the renderer's path to the API.
  const supervisor = new Supervisor({ workdir: dir });
  const api = createControlApi({ workdir: dir, supervisor, electronVersion: '41.7.1' });
  folder = watchWorkFolder(dir, api, (e) => bus.publish(e), { pollMs: 200 });
  const trusted = { appIndexUrl: indexUrl, devServerUrl: null };

  context = await launchChromium(join(base, 'profile'), {
    viewport: { width: 1280, height: 800 },
    locale: 'en-US',
    // Chromium refuses module scripts from file:// without this; Electron's file: scheme allows them.
    extraArgs: ['--allow-file-access-from-files'],
  });
  await context.exposeBinding('__sekishoCall', async (source, method: string, args: unknown[]) => {
    try {
      return await dispatchCall(api, source.frame.url(), trusted, method, args);
    } catch (err) {
      refused.push(`${method}: ${(err as Error).message}`);
      throw err;
    }
  });
  await context.addInitScript(BRIDGE);
  // The main process's event routing: debug lines to that service's console, the rest to the main window.
  bus.on('event', (ev: ControlEvent) => {
    const debug = new Map(
      context
        .pages()
        .map((p) => [debugServiceFromUrl(p.url(), indexUrl), p] as const)
        .filter((e): e is [NonNullable<(typeof e)[0]>, Page] => e[0] !== null),
    );
    const main = context.pages().find((p) => debugServiceFromUrl(p.url(), indexUrl) === null) ?? null;
    for (const p of eventTargets(ev, { main, debug })) void p.evaluate((e) => (window as unknown as { __sekishoEvent: (e: unknown) => void }).__sekishoEvent(e), ev).catch(() => {});
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(10_000);
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(m.text());
  });
}, 180_000);

afterAll(async () => {
  folder?.close();
  await context?.close().catch(() => {});
  if (base) await rm(base, { recursive: true, force: true });
}, 60_000);

describe('renderer over the preload bridge (file://)', () => {
  it('loads from file:// with its CSP, talks through the IPC checks, and knows it is the desktop app', async () => {
    await page.goto(`${indexUrl}#tab=version`);
    await expect.poll(() => page.getByTestId('version-info').textContent()).toContain('Desktop app (Electron)');
    expect(await page.getByTestId('version-info').textContent()).toContain('41.7.1');
    expect(pageErrors).toEqual([]);
    expect(refused).toEqual([]);
  });

  it('edits aliases.dat in place, warns about mode A, and bulk-imports mode B aliases', async () => {
    await page.goto('about:blank');
    await page.goto(`${indexUrl}#tab=aliases`);
    const editor = page.locator('[data-testid="table-editor"]');
    await expect.poll(() => editor.locator('tbody tr').count()).toBeGreaterThan(3);
    const before = await editor.locator('tbody tr').count();
    await page.getByTestId('add-row').click();
    const row = editor.locator('tbody tr').last();
    await row.locator('input[data-col="0"]').fill('*@test.jp');
    await row.locator('input[data-col="1"]').fill('*@test.jp');
    // The mode A warning appears for the wildcard, as a banner and on the row.
    await expect.poll(() => page.getByTestId('mode-a-warning').count()).toBe(1);
    await expect.poll(() => row.locator('[data-code="alias.wildcard"]').count(), { timeout: 10_000 }).toBe(1);
    await page.getByTestId('save').click();
    await expect.poll(() => page.getByTestId('saved-notice').count()).toBe(1);
    expect(await readFile(join(dir, 'aliases.dat'), 'utf8')).toContain('*@test.jp -> *@test.jp\r\n');
    await page.screenshot({ path: join(SHOTS, 'electron-aliases-mode-a.png') });

    // Bulk import (mode B) through the same channel; the clean editor reloads by itself.
    await page.getByTestId('import-text').fill('tanaka@test.jp\nsuzuki@test.jp, tanaka@test.jp');
    await page.getByTestId('import-run').click();
    await expect.poll(() => page.getByTestId('import-ok').count()).toBe(1);
    await expect.poll(() => editor.locator('tbody tr').count()).toBe(before + 3);
    expect(await readFile(join(dir, 'aliases.dat'), 'utf8')).toMatch(/tanaka@test\.jp -> tanaka@test\.jp\r\n/);
    expect(pageErrors).toEqual([]);
  });

  it('unsaved edits never hold up closing the desktop window (no beforeunload cancel in Electron)', async () => {
    await page.goto('about:blank');
    await page.goto(`${indexUrl}#tab=routing`);
    const editor = page.locator('[data-testid="table-editor"]');
    await expect.poll(() => editor.locator('tbody tr').count()).toBeGreaterThan(0);
    await page.getByTestId('add-row').click();
    await editor.locator('tbody tr').last().locator('input[data-col="0"]').fill('unsaved.example');
    await expect.poll(() => page.getByTestId('dirty').count()).toBe(1);
    // In Electron a cancelled beforeunload cancels the close without asking (Quit, logoff).
    const cancelled = await page.evaluate(() => {
      const e = new Event('beforeunload', { cancelable: true });
      window.dispatchEvent(e);
      return e.defaultPrevented;
    });
    expect(cancelled).toBe(false);
  });

  it('Server settings: the example host name and postmaster are flagged until saved with real ones; the new sections save', async () => {
    await page.goto('about:blank');
    await page.goto(`${indexUrl}#tab=settings`);
    const notice = page.getByTestId('settings-placeholders');
    // A fresh work folder has the SPEC's example values.
    await expect.poll(() => notice.count()).toBe(1);
    expect(await notice.textContent()).toContain('hostname = gw.test.jp, delivery.postmaster = postmaster@test.jp');
    expect(await notice.textContent()).toContain('before going live');
    await page.getByTestId('lang').selectOption('ja');
    await expect.poll(() => notice.textContent()).toContain('運用を始める前に');
    await page.getByTestId('lang').selectOption('en');

    // A local check answers in the form, before the server.
    await page.getByTestId('workers').fill('0');
    await page.getByTestId('settings-save').click();
    await expect.poll(() => page.getByTestId('settings-invalid').count()).toBe(1);
    expect(await page.getByText('A whole number from 1 to 1000.').count()).toBe(1);
    await page.getByTestId('workers').fill('8');

    // Typing is not saving: the notice stays until the real name is saved.
    await page.getByTestId('hostname').fill('mail.example.co.jp');
    expect(await notice.count()).toBe(1);
    await page.getByTestId('bounceFormat').selectOption('classic');
    await page.getByTestId('authMethod-CRAM-MD5').uncheck();
    await page.getByTestId('smarthostPassword').fill('isp-secret');
    await page.getByTestId('vrfyExpn').check();
    await page.getByTestId('retentionDays').fill('30');
    await page.getByTestId('settings-save').click();
    await expect.poll(() => page.getByTestId('settings-saved').count()).toBe(1);
    await expect.poll(() => notice.textContent()).not.toContain('hostname =');
    expect(await notice.textContent()).toContain('delivery.postmaster = postmaster@test.jp');
    const disk = JSON.parse(await readFile(join(dir, 'settings.json'), 'utf8'));
    expect(disk.hostname).toBe('mail.example.co.jp');
    expect(disk.delivery).toMatchObject({ workers: 8, bounceFormat: 'classic', smarthostPassword: 'isp-secret' });
    expect(disk.auth.methods).toEqual(['PLAIN', 'LOGIN']);
    expect(disk.receiver.vrfyExpn).toBe(true);
    expect(disk.logs.retentionDays).toBe(30);

    await page.getByTestId('postmaster').fill('postmaster@example.co.jp');
    await page.getByTestId('settings-save').click();
    await expect.poll(() => notice.count()).toBe(0);
    expect(pageErrors).toEqual([]);
  });

  it('Debug asks for a console window on our own page (#debug=<service>), which renders the console', async () => {
    await page.goto('about:blank');
    await page.goto(`${indexUrl}#tab=services`);
    await page.getByTestId('service-delivery').waitFor();
    const popup = context.waitForEvent('page');
    // Opening Debug restarts the service: the page asks first (issue 13).
    page.once('dialog', (d) => void d.accept());
    await page.getByTestId('service-delivery').getByTestId('debug').click();
    const win = await popup;
    expect(debugServiceFromUrl(win.url(), indexUrl)).toBe('delivery');
    await win.getByTestId('debug-console').waitFor();
    expect(await win.getByTestId('debug-console').getAttribute('data-service')).toBe('delivery');
    // A debug line published on the bus reaches that window only.
    bus.publish({ type: 'debug', service: 'delivery', line: 'route test.jp -> gateway.dat:2 192.168.0.10:25' });
    await expect.poll(() => win.getByTestId('debug-lines').textContent()).toContain('route test.jp -> gateway.dat:2');
    await win.close();
  });

  it('a page that is not ours cannot call', async () => {
    const other = await context.newPage();
    await other.goto('about:blank');
    const result = await other.evaluate(() => (window as unknown as { sekisho: { call: (m: string) => Promise<unknown> } }).sekisho.call('version').then(() => 'answered', (e: Error) => e.message));
    expect(result).toMatch(/not from the Sekisho window/);
    await other.close();
  });
});
