// The Windows package (issue 16): `electron-builder --dir --win` offline against a stand-in
// Electron distribution, then a look at what the installer would install: the service host
// (WinSW, renamed), its XML, sekisho.cmd, the PATH helper. The stand-in electron.exe must be a
// real PE file (electron-builder writes the asar integrity resource into it): WinSW's own exe
// serves. Resource editing and signing (rcedit, needs Wine) are off; the NSIS step needs Windows.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { generatedFiles } from '../../electron/windows-install.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const WINSW = join(ROOT, 'node_modules', 'node-windows', 'bin', 'winsw', 'winsw.exe');
let work: string;
let app: string;

function run(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<string> {
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

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'sekisho-builder-win-'));
  const dist = join(work, 'electron-dist');
  await mkdir(join(dist, 'resources'), { recursive: true });
  await mkdir(join(dist, 'locales'), { recursive: true });
  await copyFile(WINSW, join(dist, 'electron.exe'));
  const electronVersion = JSON.parse(await readFile(join(ROOT, 'node_modules', 'electron', 'package.json'), 'utf8')).version as string;
  await writeFile(join(dist, 'version'), electronVersion);
  await writeFile(join(dist, 'LICENSE'), 'MIT');
  await writeFile(join(dist, 'LICENSES.chromium.html'), '<html></html>');
  const env = { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: '1' };
  // electron-builder checks that the entry point is in the package; the contents of dist/ are
  // test/electron/builder.test.ts's subject, not this file's.
  if (!existsSync(join(ROOT, 'dist', 'electron', 'main.js'))) await run('npm', ['run', 'build:services'], env, 300_000);
  const offline = { ...env, HTTPS_PROXY: 'http://127.0.0.1:9', HTTP_PROXY: 'http://127.0.0.1:9', https_proxy: 'http://127.0.0.1:9', http_proxy: 'http://127.0.0.1:9', ELECTRON_BUILDER_CACHE: join(work, 'cache') };
  const out = join(work, 'release');
  await run(
    process.execPath,
    [
      join(ROOT, 'node_modules', 'electron-builder', 'cli.js'),
      '--dir', '--win', '--x64',
      `-c.electronDist=${dist}`,
      `-c.directories.output=${out}`,
      '-c.win.signAndEditExecutable=false',
    ],
    offline,
    300_000,
  );
  app = join(out, 'win-unpacked');
}, 600_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('electron-builder --dir --win', () => {
  it('has the app and its asar', () => {
    expect(existsSync(join(app, 'Sekisho.exe'))).toBe(true);
    expect(existsSync(join(app, 'resources', 'app.asar'))).toBe(true);
  });

  it('puts WinSW beside its XML and .exe.config under resources\\service', async () => {
    const host = await readFile(join(app, 'resources', 'service', 'SekishoService.exe'));
    expect(host.equals(await readFile(WINSW))).toBe(true);
    expect(await readFile(join(app, 'resources', 'service', 'SekishoService.exe.config'), 'utf8')).toContain('supportedRuntime version="v4.0"');
    expect(await readFile(join(app, 'resources', 'service', 'SekishoService.xml'), 'utf8')).toBe(generatedFiles()['SekishoService.xml']);
  });

  it('puts sekisho.cmd in bin\\ and the PATH and secret helpers under resources\\windows', async () => {
    expect(await readFile(join(app, 'bin', 'sekisho.cmd'), 'utf8')).toBe(generatedFiles()['sekisho.cmd']);
    expect(await readFile(join(app, 'resources', 'windows', 'path.ps1'), 'utf8')).toBe(generatedFiles()['path.ps1']);
    expect(await readFile(join(app, 'resources', 'windows', 'secret.ps1'), 'utf8')).toBe(generatedFiles()['secret.ps1']);
    // The paths the XML and sekisho.cmd point at exist in the package.
    expect(existsSync(join(app, 'resources', 'service', '..', '..', 'Sekisho.exe'))).toBe(true);
  });
});
