// The Windows package (issue 16): `electron-builder --dir --win` offline against a stand-in
// Electron distribution, then a look at what the installer would install: the service host
// (WinSW, renamed), its XML, sekisho.cmd, the PATH helper. The stand-in electron.exe must be a
// real PE file (electron-builder writes the asar integrity resource into it): WinSW's own exe
// serves. Resource editing and signing (rcedit, needs Wine) are off; the NSIS step needs Windows.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatedFiles } from '../../electron/windows-install.js';
import { ROOT, run, standInDist, buildEnv, electronBuilderOffline } from './helpers/builder.js';

const WINSW = join(ROOT, 'node_modules', 'node-windows', 'bin', 'winsw', 'winsw.exe');
let work: string;
let app: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'sekisho-builder-win-'));
  const dist = await standInDist(work, (d) => copyFile(WINSW, join(d, 'electron.exe')));
  // electron-builder checks that the entry point is in the package; the contents of dist/ are
  // test/electron/builder.test.ts's subject, not this file's.
  if (!existsSync(join(ROOT, 'dist', 'electron', 'main.js'))) await run('npm', ['run', 'build:services'], buildEnv(), 300_000);
  const out = join(work, 'release');
  await electronBuilderOffline(work, ['--dir', '--win', '--x64', `-c.electronDist=${dist}`, `-c.directories.output=${out}`, '-c.win.signAndEditExecutable=false']);
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
