// `sekisho serve --require-auth`, the Windows service's command line (electron/windows-install.ts):
// a real serve with its receiver and delivery children, real HTTP. Another local user of the
// server — who cannot read the work folder, so not control.secret — gets nothing from the control
// API even with control.password empty: no relay rules, no queue, no event stream, no writes.
// Whoever reads the secret gets everything: as a Bearer token (the app, `sekisho stop`) or by
// logging into the browser UI with its content. Without the flag, serve stays open on loopback
// (test/e2e/serve.test.ts calls it without credentials).
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Serve, freePort, tempDir, writeWorkFolder } from './helpers/recipes-harness.js';
import { cliCommand } from '../../services/cli/spawn.js';
import { readControlSecret } from '../../services/control/secret.js';
import { postApi, firstEvent as firstEventAt, type Headers } from '../services/control/helpers/http-client.js';

let dir: string;
let controlPort: number;
let serve: Serve;
let secret: string;

async function post(method: string, args: unknown[] = [], headers: Headers = {}) {
  return postApi(`http://127.0.0.1:${controlPort}`, method, args, headers);
}

/** GET /api/events: its status, and the first event when it opened (bounded in time and reads). */
function firstEvent(headers: Headers = {}) {
  return firstEventAt(`http://127.0.0.1:${controlPort}`, headers, 15_000);
}

const bearer = (t: string): Headers => ({ Authorization: `Bearer ${t}` });

beforeAll(async () => {
  dir = join(await tempDir('sekisho-require-auth-'), 'mail');
  controlPort = await freePort();
  await writeWorkFolder(dir, {
    // control.password empty: the default of a new installation.
    settings: { hostname: 'gw.test.jp', receiver: { bind: '127.0.0.1', ports: [await freePort()] }, control: { bind: '127.0.0.1', port: controlPort } },
    domains: ['test.jp'],
    gateway: [],
    effect: ['#<> default', '#blank false'],
    aliases: [],
  });
  serve = new Serve(dir, controlPort, { requireAuth: true });
  await serve.ready();
  secret = readControlSecret(dir)!;
  expect(secret).toMatch(/^[0-9a-f]{64}$/);
}, 90_000);

afterAll(async () => {
  await serve?.stop();
}, 60_000);

describe('serve --require-auth with control.password empty', () => {
  it('without credentials: a read and a write are refused (401), and nothing changes on disk', async () => {
    const effect = await readFile(join(dir, 'effect.dat'), 'utf8');
    const read = await post('readTable', ['effect']);
    expect(read.status).toBe(401);
    expect(read.body.error).toMatch(/control secret/);
    expect((await post('listQueue')).status).toBe(401);
    expect((await post('serviceStatus')).status).toBe(401);
    // What the gap allowed: an open relay, an account of one's own.
    expect((await post('saveTable', [{ table: 'effect', lines: ['#<> true'], baseVersion: '', force: true }])).status).toBe(401);
    expect((await post('createAccount', ['intruder', 'intruder-pw-1'])).status).toBe(401);
    expect(await readFile(join(dir, 'effect.dat'), 'utf8')).toBe(effect);
    expect((await post('listAccounts', [], bearer(secret))).body.result).toEqual([]);
  });

  it('with the secret as Bearer: reads and writes work', async () => {
    const read = await post('readTable', ['effect'], bearer(secret));
    expect(read.status).toBe(200);
    const view = read.body.result as { version: string; lines: Array<{ raw: string }> };
    expect(view.lines.map((l) => l.raw)).toEqual(['#<> default', '#blank false']);
    const saved = await post('saveTable', [{ table: 'effect', lines: ['#<> default', '#blank false', "' edited with the control secret"], baseVersion: view.version }], bearer(secret));
    expect(saved.status).toBe(200);
    expect(saved.body.result).toMatchObject({ ok: true });
    expect(await readFile(join(dir, 'effect.dat'), 'utf8')).toContain("' edited with the control secret\r\n");
  });

  it('the event stream: refused without credentials, the services\' status first with the secret', async () => {
    expect(await firstEvent()).toEqual({ status: 401, first: null });
    expect(await firstEvent(bearer('f'.repeat(64)))).toEqual({ status: 401, first: null });
    const open = await firstEvent(bearer(secret));
    expect(open.status).toBe(200);
    expect(open.first).toMatchObject({ type: 'status' });
  });

  it('the browser UI: asks for a login, and the content of control.secret logs in', async () => {
    const session = (await (await fetch(`http://127.0.0.1:${controlPort}/api/session`)).json()) as Record<string, unknown>;
    expect(session).toMatchObject({ passwordRequired: true, loggedIn: false, secretAccepted: true });
    const login = (password: string) =>
      fetch(`http://127.0.0.1:${controlPort}/api/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ password }) });
    expect((await login('')).status).toBe(401);
    // What an admin pastes from `type C:\mail\control.secret`: the file's line, line end and all.
    const ok = await login(await readFile(join(dir, 'control.secret'), 'utf8'));
    expect(ok.status).toBe(200);
    const cookie = { Cookie: (ok.headers.get('set-cookie') ?? '').split(';')[0] };
    expect((await post('listQueue', [], cookie)).status).toBe(200);
    expect((await firstEvent(cookie)).first).toMatchObject({ type: 'status' });
  });

  it('`sekisho stop` (the service\'s stop command) still stops it gracefully with the secret', async () => {
    const cmd = cliCommand(['stop', '--workdir', dir, '--timeout', '60']);
    const child = spawn(cmd.command, cmd.args, { env: cmd.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    const code = await new Promise<number | null>((r) => child.once('close', r));
    expect(code, err).toBe(0);
    expect(await serve.stop()).toBe(0);
    expect(serve.stdout).toContain('stopped');
  }, 90_000);
});
