// The set-up test/electron/builder.test.ts (Linux) and builder-win.test.ts (Windows) share:
// a bounded child runner, a stand-in Electron distribution (the real binary cannot be
// downloaded here) and electron-builder run offline against it.
import { spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..', '..', '..');

/** Run a command to completion (bounded); its output, or a failure carrying it. */
export function run(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<string> {
  return new Promise((ok, fail) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout!.on('data', (d) => (text += d));
    child.stderr!.on('data', (d) => (text += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) ok(text);
      else fail(new Error(`${command} ${args.join(' ')}: exit ${code ?? signal}\n${text}`));
    });
  });
}

/**
 * A stand-in Electron distribution in `<work>/electron-dist`: what electron-builder copies and
 * renames. `writeExe` puts the platform's executable into it; the version is the installed
 * electron package's.
 */
export async function standInDist(work: string, writeExe: (dist: string) => Promise<void>): Promise<string> {
  const dist = join(work, 'electron-dist');
  await mkdir(join(dist, 'resources'), { recursive: true });
  await mkdir(join(dist, 'locales'), { recursive: true });
  await writeExe(dist);
  const electronVersion = JSON.parse(await readFile(join(ROOT, 'node_modules', 'electron', 'package.json'), 'utf8')).version as string;
  await writeFile(join(dist, 'version'), electronVersion);
  await writeFile(join(dist, 'LICENSE'), 'MIT');
  await writeFile(join(dist, 'LICENSES.chromium.html'), '<html></html>');
  return dist;
}

/** The environment the tests build in: no Electron binary download. */
export function buildEnv(): NodeJS.ProcessEnv {
  return { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: '1' };
}

/** electron-builder with `args`, offline: any download attempt goes to a closed port and fails the build. */
export function electronBuilderOffline(work: string, args: string[]): Promise<string> {
  const offline = { ...buildEnv(), HTTPS_PROXY: 'http://127.0.0.1:9', HTTP_PROXY: 'http://127.0.0.1:9', https_proxy: 'http://127.0.0.1:9', http_proxy: 'http://127.0.0.1:9', ELECTRON_BUILDER_CACHE: join(work, 'cache') };
  return run(process.execPath, [join(ROOT, 'node_modules', 'electron-builder', 'cli.js'), ...args], offline, 300_000);
}
