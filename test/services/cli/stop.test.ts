// `sekisho stop` as a real process against the cases a real serve does not produce on demand:
// nothing running, a stale serve.json, a wrong secret, and a "serve" that accepts the shutdown
// but never exits (a stand-in HTTP server process): --timeout, then killed, exit 3.
// The graceful case against the real serve is test/e2e/stop.test.ts.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../config/run-cli.js';
import { ensureControlSecret } from '../../../services/control/secret.js';
import { serveStatePath } from '../../../services/control/serve-state.js';
import { freePort } from '../../../bench/lib/ports.js';
import { isAlive } from '../../../bench/lib/rss.js';

const pids: number[] = [];
afterEach(() => {
  for (const p of pids.splice(0)) if (isAlive(p)) process.kill(p, 'SIGKILL');
});

async function workdir(controlPort: number): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sekisho-stop-'));
  await writeFile(join(dir, 'settings.json'), JSON.stringify({ control: { bind: '127.0.0.1', port: controlPort } }));
  return dir;
}

/** A process that answers POST /api/shutdown like serve (checking the Bearer) but never stops. */
async function standIn(dir: string, secret: string): Promise<{ pid: number; port: number; shutdowns: () => number }> {
  const script = join(dir, 'stand-in.mjs');
  await writeFile(
    script,
    `import { createServer } from 'node:http';
     const s = createServer((req, res) => {
       const ok = req.url === '/api/shutdown' && req.headers.authorization === 'Bearer ${secret}';
       if (ok) console.log('shutdown');
       res.writeHead(ok ? 200 : 401, { 'Content-Type': 'application/json' });
       res.end(JSON.stringify(ok ? { ok: true, result: null } : { ok: false, error: 'wrong control secret' }));
     });
     s.listen(0, '127.0.0.1', () => console.log('port ' + s.address().port));
     process.on('SIGTERM', () => {});`,
  );
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
  pids.push(child.pid!);
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  const deadline = Date.now() + 10_000;
  while (!/port \d+/.test(out)) {
    if (Date.now() > deadline) throw new Error('stand-in did not start');
    await new Promise((r) => setTimeout(r, 25));
  }
  const port = Number(/port (\d+)/.exec(out)![1]);
  return { pid: child.pid!, port, shutdowns: () => out.split('\n').filter((l) => l === 'shutdown').length };
}

describe('sekisho stop', () => {
  it('exit 1 when nothing runs on the folder (no secret, then nothing answering)', async () => {
    const dir = await workdir(await freePort());
    const noSecret = await runCli(['stop', '--workdir', dir]);
    expect(noSecret.code).toBe(1);
    expect(noSecret.stderr).toMatch(/no control secret/);
    ensureControlSecret(dir);
    const nobody = await runCli(['stop', '--workdir', dir]);
    expect(nobody.code).toBe(1);
    expect(nobody.stderr).toMatch(/serve is not running .*nothing answers/);
  });

  it('exit 1 and the stale serve.json removed when its pid is gone', async () => {
    const dir = await workdir(await freePort());
    ensureControlSecret(dir);
    const gone = spawn(process.execPath, ['-e', '']);
    await new Promise((r) => gone.once('exit', r));
    await writeFile(serveStatePath(dir), JSON.stringify({ pid: gone.pid, url: 'http://127.0.0.1:9/', port: 9, startedAt: '' }));
    const r = await runCli(['stop', '--workdir', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`pid ${gone.pid} of serve.json is gone`));
    expect(existsSync(serveStatePath(dir))).toBe(false);
  });

  it('exit 1 when the running serve refuses the secret', async () => {
    const dir = await workdir(await freePort());
    const s = await standIn(dir, 'a'.repeat(64));
    ensureControlSecret(dir); // a different secret than the stand-in knows
    await writeFile(serveStatePath(dir), JSON.stringify({ pid: s.pid, url: `http://127.0.0.1:${s.port}/`, port: s.port, startedAt: '' }));
    const r = await runCli(['stop', '--workdir', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/refused to shut down: 401 wrong control secret/);
    expect(isAlive(s.pid)).toBe(true);
  });

  it('exit 3 and the process killed when it does not exit within --timeout', async () => {
    const dir = await workdir(await freePort());
    const secret = ensureControlSecret(dir);
    const s = await standIn(dir, secret);
    await writeFile(serveStatePath(dir), JSON.stringify({ pid: s.pid, url: `http://127.0.0.1:${s.port}/`, port: s.port, startedAt: '' }));
    const r = await runCli(['stop', '--workdir', dir, '--timeout', '1']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(new RegExp(`pid ${s.pid}\\) did not stop within 1 s: killing it`));
    expect(s.shutdowns()).toBe(1);
    const deadline = Date.now() + 5_000;
    while (isAlive(s.pid) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 25));
    expect(isAlive(s.pid)).toBe(false);
  });

  it('a bad --timeout is a usage error (exit 2)', async () => {
    const r = await runCli(['stop', '--workdir', await workdir(1), '--timeout', 'soon']);
    expect(r.code).toBe(2);
  });
});
