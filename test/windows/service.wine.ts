// Windows lane (issue 16): the installed command lines under Windows' own node.exe in Wine.
// An installation folder is laid out as electron-builder lays it out (Sekisho.exe, bin\sekisho.cmd,
// resources\service\SekishoService.xml, resources\app.asar\dist\services\cli\main.js), with
// node.exe standing in for Sekisho.exe (with ELECTRON_RUN_AS_NODE=1 Sekisho.exe *is* Node) and a
// main.js that loads the CLI from source. Then:
// - the generated bin\sekisho.cmd, run by Wine's cmd.exe: init, check, its exit code passed on;
// - the service's start and stop command lines exactly as WinSW 1.17 builds them from the
//   generated XML (electron/windows-install.ts serviceCommandLines): serve starts, relays a
//   message from swaks to smtp-sink, and the stop command (`sekisho stop`) ends every process
//   gracefully; then once more through `sekisho.cmd serve` / `sekisho.cmd stop`.
// WinSW itself (.NET) does not run under this Wine, so the service manager's part (net start /
// net stop calling these lines) is left to the Windows workflow (.github/workflows/windows.yml).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { appendFile, mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../bench/lib/ports.js';
import { startSmtpSink } from '../services/delivery/helpers/servers.js';
import { finishWin, laneDir, ROOT, swaks, until, watchFiles, WINE_HOME, winAlive, winEnv, wineReady, winPath, winUrl, type WinProcess } from './lane.js';
import { WINDOWS_INSTALL, generatedFiles, serviceCommandLines } from '../../electron/windows-install.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

let seq = 0;
/** `wine PROGRAM ARGS` (a .exe or `cmd /c x.cmd`); stdout/stderr to files (Wine: no pipes). */
function wine(dir: string, program: string[], env: Record<string, string>, cwd?: string): WinProcess {
  const n = seq++;
  const outFile = join(dir, `wine-${n}.out`);
  const errFile = join(dir, `wine-${n}.err`);
  const proc = spawn('/bin/sh', ['-c', `exec wine "$@" >"${outFile}" 2>"${errFile}"`, 'sh', ...program], {
    env: winEnv({ WINEPREFIX: join(WINE_HOME, 'prefix'), ...env }),
    cwd,
    stdio: 'ignore',
    detached: true,
  });
  return watchFiles(proc, outFile, errFile, program.join(' '), 120_000);
}

function finish(r: WinProcess, ms = 120_000): Promise<{ code: number | null; out: string[]; err: string }> {
  return finishWin(r, ms);
}

/** An installation folder as electron-builder lays it out; node.exe stands in for Sekisho.exe. */
async function fakeInstall(base: string): Promise<string> {
  const inst = join(base, 'Sekisho');
  await mkdir(join(inst, 'bin'), { recursive: true });
  await mkdir(join(inst, 'resources', 'service'), { recursive: true });
  const cli = join(inst, 'resources', 'app.asar', 'dist', 'services', 'cli');
  await mkdir(cli, { recursive: true });
  await symlink(join(WINE_HOME, 'node', 'node.exe'), join(inst, 'Sekisho.exe'));
  const files = generatedFiles();
  await writeFile(join(inst, 'bin', 'sekisho.cmd'), files['sekisho.cmd']);
  await writeFile(join(inst, 'resources', 'service', `${WINDOWS_INSTALL.hostName}.xml`), files[`${WINDOWS_INSTALL.hostName}.xml`]);
  // The packaged entry point, here loading the CLI from this checkout (bin/sekisho.js, from source).
  await writeFile(
    join(cli, 'main.js'),
    `if (process.env.ELECTRON_RUN_AS_NODE !== '1') { console.error('ELECTRON_RUN_AS_NODE is not set'); process.exit(99); }\n` +
      `import(${JSON.stringify(winUrl(join(ROOT, 'bin', 'sekisho.js')))});\n`,
  );
  return inst;
}

function childPids(lines: string[]): number[] {
  return lines.map((l) => /^(?:receiver|delivery) running pid (\d+)/.exec(l)?.[1]).filter((p): p is string => !!p).map(Number);
}

describe.runIf(wineReady())('the installed command lines under Windows node.exe (Wine)', () => {
  it('sekisho.cmd (init, check, exit code), the service start/stop lines from the XML, sekisho.cmd serve/stop', async () => {
    const base = await laneDir('service');
    cleanups.push(() => rm(base, { recursive: true, force: true }));
    const inst = await fakeInstall(base);
    const I = winPath(inst);
    const cmd = (args: string[]) => wine(base, ['cmd', '/c', `${I}\\bin\\sekisho.cmd`, ...args], {});
    const mail = join(base, 'mail');
    const W = winPath(mail);
    const sinkDir = join(base, 'sink');
    await mkdir(sinkDir);
    const [smtpPort, controlPort, sinkPort] = [await freePort(), await freePort(), await freePort()];
    const sink = await startSmtpSink(sinkDir, sinkPort);
    cleanups.push(sink.close);

    // sekisho.cmd: what the guide tells an administrator to type.
    const init = await finish(cmd(['init', '--workdir', W, '--port', String(smtpPort), '--control-port', String(controlPort), '--lang', 'en']));
    expect(init.err).toBe('');
    expect(init.code).toBe(0);
    expect(init.out).toContain(`work folder ready: ${W}`);
    await appendFile(join(mail, 'gateway.dat'), `example.jp, 127.0.0.1, ${sinkPort}\r\n`);
    await appendFile(join(mail, 'aliases.dat'), 'a@example.jp -> a@example.jp\r\n');
    const check = await finish(cmd(['check', '--workdir', W]));
    expect(check.code).toBe(0);
    expect(check.out[0]).toMatch(/^OK: /);
    // A failing command's exit code comes back through the .cmd (endlocal & exit /b).
    const broken = await finish(cmd(['check', '--workdir', winPath(join(base, 'no-such-folder'))]));
    expect(broken.code).not.toBe(0);

    // The service: the XML's start line, with its environment and working directory.
    const lines = serviceCommandLines({ ...WINDOWS_INSTALL, workdir: W }, `${I}\\resources\\service`);
    expect(lines.start.args.slice(1)).toEqual(['serve', '--require-auth', '--workdir', W]);
    const serve = wine(base, [lines.start.command, ...lines.start.args], lines.env, mail);
    cleanups.push(() => serve.kill());
    expect(await serve.waitFor(/^ready /, 180_000)).toMatch(/receiver=running delivery=running/);
    const pids = childPids(serve.out());
    expect(pids).toHaveLength(2);
    const servePid = (JSON.parse(readFileSync(join(mail, 'serve.json'), 'utf8')) as { pid: number }).pid;
    // serve wrote the control secret into the work folder (what `stop` and the app use).
    const secret = readFileSync(join(mail, 'control.secret'), 'utf8').trim();
    expect(secret).toMatch(/^[0-9a-f]{64}$/);
    // --require-auth: a caller without the secret (another user of the server) gets nothing.
    const listQueue = (headers: Record<string, string>) =>
      fetch(`http://127.0.0.1:${controlPort}/api/listQueue`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: '{"args":[]}' }).then((r) => r.status);
    expect(await listQueue({})).toBe(401);
    expect(await listQueue({ Authorization: `Bearer ${secret}` })).toBe(200);

    const sent = await swaks(smtpPort, 'a@example.jp', 'relayed by the service command line');
    expect(sent.code, sent.out).toBe(0);
    await until(
      async () => {
        const texts = await Promise.all((await readdir(sinkDir)).map((n) => readFile(join(sinkDir, n), 'utf8')));
        return texts.some((t) => t.includes('relayed by the service command line'));
      },
      60_000,
      'the message at smtp-sink',
    );

    // The service stop: the XML's stop line (`sekisho stop --timeout 60 --workdir W`).
    expect(lines.stop.args.slice(1)).toEqual(['stop', '--timeout', String(WINDOWS_INSTALL.stopTimeoutSec), '--workdir', W]);
    const stop = await finish(wine(base, [lines.stop.command, ...lines.stop.args], lines.env, mail), 150_000);
    expect(stop.err).toBe('');
    expect(stop.code).toBe(0);
    expect(await serve.exited).toBe(0);
    expect(serve.out()).toEqual(expect.arrayContaining(['receiver stopped (exit 0)', 'delivery stopped (exit 0)']));
    expect(serve.out().join('\n')).not.toMatch(/killed/);
    expect(await winAlive(base, [servePid, ...pids])).toEqual([]);

    // Once more as an administrator would by hand: sekisho.cmd serve, sekisho.cmd stop.
    const serve2 = cmd(['serve', '--workdir', W]);
    cleanups.push(() => serve2.kill());
    expect(await serve2.waitFor(/^ready /, 180_000)).toMatch(/receiver=running delivery=running/);
    const stop2 = await finish(cmd(['stop', '--workdir', W, '--timeout', '60']), 150_000);
    expect(stop2.code).toBe(0);
    expect(await serve2.exited).toBe(0);
    expect(serve2.out()).toEqual(expect.arrayContaining(['receiver stopped (exit 0)', 'delivery stopped (exit 0)']));
    expect(existsSync(join(mail, 'serve.json'))).toBe(false);
  }, 600_000);
});
