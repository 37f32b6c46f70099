// The set-up the browser e2e tests (test/e2e/browser*.test.ts) share: the UI built as shipped
// into a folder of its own, a real `sekisho serve` child serving it, and Debian's Chromium
// (through playwright-core) on a persistent profile at a chosen viewport. Each test keeps its
// own work folder, waits and assertions; only the identical steps live here.
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { cliCommand } from '../../../services/cli/spawn.js';

export const ROOT = resolve(import.meta.dirname, '..', '..', '..');
export const SHOTS = join(ROOT, 'test-output', 'screenshots');
export const CHROMIUM = '/usr/bin/chromium';

/** Run a command to completion (bounded), failing with its output. */
export function run(command: string, args: string[], timeoutMs: number): Promise<void> {
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

/** The UI as shipped, built into `outDir` (other tests may build dist/ meanwhile). */
export function buildUi(outDir: string, timeoutMs = 120_000): Promise<void> {
  return run(process.execPath, [join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', 'renderer/vite.config.ts', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'error'], timeoutMs);
}

/** `sekisho <args>` as a child (e.g. serve); every chunk of its stdout and stderr goes to `onOutput`. */
export function spawnCli(args: string[], onOutput: (chunk: string) => void): ChildProcess {
  const c = cliCommand(args);
  const child = spawn(c.command, c.args, { env: c.env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d) => onOutput(String(d)));
  child.stderr!.on('data', (d) => onOutput(String(d)));
  return child;
}

/** SIGTERM, up to 15 s for a clean exit, then SIGKILL. */
export async function stopChild(child: ChildProcess | null): Promise<void> {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

export interface LaunchOptions {
  viewport: { width: number; height: number };
  locale: string;
  /** Flags beyond the shared ones (e.g. --allow-file-access-from-files). */
  extraArgs?: string[];
}

/** Headless Chromium on a persistent profile folder. */
export function launchChromium(profile: string, o: LaunchOptions): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', ...(o.extraArgs ?? [])],
    viewport: o.viewport,
    locale: o.locale,
  });
}

/**
 * The context's first page with a 10 s step timeout (fail at the step that is wrong, well
 * before the test's own timeout); page errors and console errors go to `errors`, except
 * console errors matching `expectedConsole` (answers the test itself asks for).
 */
export async function firstPage(context: BrowserContext, errors: string[], expectedConsole?: RegExp): Promise<Page> {
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(10_000);
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !(expectedConsole && expectedConsole.test(m.text()))) errors.push(`console: ${m.text()}`);
  });
  return page;
}

/**
 * Poll `fn` until it gives a value (every 250 ms, at most 400 tries, bounded by `timeoutMs`); on
 * timeout the error carries the last failure and `output()` (serve's output).
 */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs: number, output: () => string): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (let i = 0; i < 400; i++) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ''}\nserve output:\n${output()}`);
}

/** One control API call over loopback HTTP without credentials; its result, or a failure naming the method. */
export async function api<T = unknown>(controlPort: number, method: string, ...args: unknown[]): Promise<T> {
  const res = await fetch(`http://127.0.0.1:${controlPort}/api/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ args }),
  });
  const body = (await res.json()) as { ok: boolean; result?: T; error?: string };
  if (!body.ok) throw new Error(`${method}: ${body.error}`);
  return body.result as T;
}
