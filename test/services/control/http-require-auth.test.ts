// requireAuth on the control HTTP server (services/control/http.ts; `serve --require-auth`, the
// installed Windows service): every /api call needs the control secret or control.password —
// as Bearer, or as a login session — even when control.password is empty. Without it, an empty
// password leaves loopback open as before. Real loopback sockets, the real handlers on a temp
// work folder, a Supervisor with no services.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createControlApi } from '../../../services/control/handlers.js';
import { startControlServer, type ControlServer, type ControlServerOptions } from '../../../services/control/http.js';
import { ensureControlSecret } from '../../../services/control/secret.js';
import { Supervisor } from '../../../services/supervisor/index.js';
import { postApi, firstEvent, type Headers } from './helpers/http-client.js';

const servers: ControlServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function setup(opts: Partial<Pick<ControlServerOptions, 'password' | 'requireAuth'>> & { noSecret?: boolean } = {}) {
  const workdir = await mkdtemp(join(tmpdir(), 'sekisho-http-auth-'));
  await writeFile(join(workdir, 'settings.json'), '{}\n');
  await writeFile(join(workdir, 'effect.dat'), '#<> default\r\n');
  const secret = ensureControlSecret(workdir);
  const api = createControlApi({ workdir, supervisor: new Supervisor({ workdir, services: [] }) });
  const server = await startControlServer(api, {
    bind: '127.0.0.1',
    port: 0,
    password: opts.password ?? '',
    secret: opts.noSecret ? null : secret,
    requireAuth: opts.requireAuth,
  });
  servers.push(server);
  const base = `http://127.0.0.1:${server.port}`;
  const call = (method: string, args: unknown[] = [], headers: Headers = {}) => postApi(base, method, args, headers);
  const session = async (headers: Headers = {}) => (await (await fetch(`${base}/api/session`, { headers })).json()) as Record<string, unknown>;
  /** POST /api/login; the session cookie ('' when none was set). */
  const login = async (password: string) => {
    const res = await fetch(`${base}/api/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ password }) });
    await res.body?.cancel();
    return { status: res.status, cookie: (res.headers.get('set-cookie') ?? '').split(';')[0] };
  };
  /** GET /api/events: the status, and the first event when it opens (bounded). */
  const events = (headers: Headers = {}) => firstEvent(base, headers, 10_000);
  const bearer = (t: string): Headers => ({ Authorization: `Bearer ${t}` });
  return { workdir, secret, call, session, login, events, bearer };
}

describe('requireAuth without a control password (the installed service)', () => {
  it('refuses a read and a write without credentials (401), and nothing is written', async () => {
    const t = await setup({ requireAuth: true });
    const read = await t.call('readTable', ['effect']);
    expect(read.status).toBe(401);
    expect(read.body.error).toMatch(/control secret/);
    expect((await t.call('listQueue')).status).toBe(401);
    expect((await t.call('version')).status).toBe(401);
    // Turning the gateway into an open relay and setting a password: both refused.
    const write = await t.call('saveTable', [{ table: 'effect', lines: ['#<> true'], baseVersion: '', force: true }]);
    expect(write.status).toBe(401);
    expect((await t.call('createAccount', ['intruder', 'pw-1234567'])).status).toBe(401);
    expect(await readFile(join(t.workdir, 'effect.dat'), 'utf8')).toBe('#<> default\r\n');
    // A wrong secret is refused as well.
    expect((await t.call('readTable', ['effect'], t.bearer('0'.repeat(64)))).status).toBe(401);
  });

  it('answers every call with the secret as Bearer', async () => {
    const t = await setup({ requireAuth: true });
    const read = await t.call('readTable', ['effect'], t.bearer(t.secret));
    expect(read.status).toBe(200);
    expect(read.body.result).toMatchObject({ table: 'effect', lines: [{ raw: '#<> default' }] });
    const version = (read.body.result as { version: string }).version;
    const write = await t.call('saveTable', [{ table: 'effect', lines: ['#<> default', '#blank false'], baseVersion: version }], t.bearer(t.secret));
    expect(write).toMatchObject({ status: 200, body: { ok: true, result: { ok: true } } });
    expect(await readFile(join(t.workdir, 'effect.dat'), 'utf8')).toContain('#blank false');
  });

  it('the event stream: 401 without credentials, the status first with the secret', async () => {
    const t = await setup({ requireAuth: true });
    expect(await t.events()).toEqual({ status: 401, first: null });
    const open = await t.events(t.bearer(t.secret));
    expect(open.status).toBe(200);
    expect(open.first).toMatchObject({ type: 'status' });
  });

  it('the browser UI: the session asks for a login, which takes the content of control.secret', async () => {
    const t = await setup({ requireAuth: true });
    expect(await t.session()).toMatchObject({ passwordRequired: true, loggedIn: false, secretAccepted: true });
    const wrong = await t.login('not-the-secret');
    expect(wrong).toEqual({ status: 401, cookie: '' });
    // The empty "password" (control.password is empty) must not open a session.
    expect((await t.login('')).status).toBe(401);
    const ok = await t.login(t.secret);
    expect(ok.status).toBe(200);
    expect(ok.cookie).toMatch(/^sekisho_session_\d+=/);
    expect(ok.cookie).not.toContain(t.secret);
    const cookie = { Cookie: ok.cookie };
    expect(await t.session(cookie)).toMatchObject({ passwordRequired: true, loggedIn: true });
    expect((await t.call('listQueue', [], cookie)).status).toBe(200);
    expect((await t.events(cookie)).first).toMatchObject({ type: 'status' });
  });

  it('another local user flooding wrong guesses does not lock out the holders of the secret', async () => {
    const t = await setup({ requireAuth: true, password: 'kanri-pw' });
    // Everyone on the server is 127.0.0.1: the guesses and the administrators share one address.
    for (let i = 0; i < 10; i++) expect((await t.call('listQueue', [], t.bearer(`guess-${i}`))).status).toBe(401);
    expect((await t.call('listQueue', [], t.bearer('guess-10'))).status).toBe(429);
    expect((await t.login('guess-11')).status).toBe(429);
    // The password waits out the window (it may be weak)…
    expect((await t.call('listQueue', [], t.bearer('kanri-pw'))).status).toBe(429);
    expect((await t.login('kanri-pw')).status).toBe(429);
    // …the secret (256 random bits: the app, `sekisho stop`, the browser login) does not.
    expect((await t.call('listQueue', [], t.bearer(t.secret))).status).toBe(200);
    expect((await t.login(t.secret)).status).toBe(200);
    // …and its login does not wipe the guesser's count (all share 127.0.0.1).
    expect((await t.call('listQueue', [], t.bearer('guess-12'))).status).toBe(429);
  });

  it('refuses to start with nothing anyone could log in with', async () => {
    await expect(setup({ requireAuth: true, noSecret: true })).rejects.toThrow(/neither a control secret nor control.password/);
  });
});

describe('requireAuth with a control password', () => {
  it('the password and the secret both log in; a new password ends only the sessions of the old one', async () => {
    let password = 'kanri-first';
    const t = await setup({ requireAuth: true, password: () => password });
    expect((await t.call('listQueue')).status).toBe(401);
    expect((await t.call('listQueue', [], t.bearer('kanri-first'))).status).toBe(200);
    expect((await t.call('listQueue', [], t.bearer(t.secret))).status).toBe(200);
    const byPassword = { Cookie: (await t.login('kanri-first')).cookie };
    const bySecret = { Cookie: (await t.login(t.secret)).cookie };
    expect((await t.call('listQueue', [], byPassword)).status).toBe(200);
    expect((await t.call('listQueue', [], bySecret)).status).toBe(200);
    password = 'kanri-second';
    expect((await t.call('listQueue', [], byPassword)).status).toBe(401);
    expect((await t.call('listQueue', [], bySecret)).status).toBe(200);
  });
});

describe('without requireAuth (npm start, development)', () => {
  it('an empty password leaves loopback open as before: calls and events need nothing, login is a no-op', async () => {
    const t = await setup();
    expect(await t.session()).toMatchObject({ passwordRequired: false, loggedIn: true, secretAccepted: true });
    expect((await t.call('readTable', ['effect'])).status).toBe(200);
    expect((await t.call('listQueue')).status).toBe(200);
    expect((await t.events()).first).toMatchObject({ type: 'status' });
    expect(await t.login('anything')).toEqual({ status: 200, cookie: '' });
    // shutdown still needs the secret (issue 16).
    expect((await t.call('shutdown')).status).toBe(401);
  });
});
