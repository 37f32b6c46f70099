// The control secret on the HTTP server (services/control/http.ts): a Bearer token for every
// /api call, and what `shutdown` requires even when control.password is empty. Real loopback
// sockets, the real handlers on a temp work folder, a Supervisor with no services.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createControlApi } from '../../../services/control/handlers.js';
import { startControlServer, type ControlServer } from '../../../services/control/http.js';
import { ensureControlSecret } from '../../../services/control/secret.js';
import { Supervisor } from '../../../services/supervisor/index.js';

const servers: ControlServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function setup(opts: { password?: string; shutdownable?: boolean } = {}) {
  const workdir = await mkdtemp(join(tmpdir(), 'sekisho-http-secret-'));
  await writeFile(join(workdir, 'settings.json'), '{}\n');
  const secret = ensureControlSecret(workdir);
  const shutdowns: number[] = [];
  const api = createControlApi({
    workdir,
    supervisor: new Supervisor({ workdir, services: [] }),
    ...(opts.shutdownable === false ? {} : { requestShutdown: () => shutdowns.push(Date.now()) }),
  });
  const server = await startControlServer(api, { bind: '127.0.0.1', port: 0, password: opts.password ?? '', secret });
  servers.push(server);
  const call = async (method: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`http://127.0.0.1:${server.port}/api/${method}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...headers },
      body: '{"args":[]}',
    });
    return { status: res.status, body: (await res.json()) as { ok: boolean; error?: string } };
  };
  const bearer = (t: string) => ({ Authorization: `Bearer ${t}` });
  return { secret, shutdowns, call, bearer, port: server.port };
}

/** Until the setImmediate of shutdown() ran (bounded). */
async function settle(): Promise<void> {
  await new Promise((r) => setTimeout(r, 20));
}

describe('control secret over HTTP', () => {
  it('without control.password: every call is open on loopback except shutdown, which needs the secret', async () => {
    const t = await setup();
    expect((await t.call('serviceStatus')).status).toBe(200);
    const none = await t.call('shutdown');
    expect(none.status).toBe(401);
    expect(none.body.error).toMatch(/control secret/);
    expect((await t.call('shutdown', t.bearer('0'.repeat(64)))).status).toBe(401);
    // A wrong secret is refused on any call, like a wrong password.
    expect((await t.call('serviceStatus', t.bearer('wrong'))).status).toBe(401);
    await settle();
    expect(t.shutdowns).toEqual([]);
    const ok = await t.call('shutdown', t.bearer(t.secret));
    expect(ok).toEqual({ status: 200, body: { ok: true, result: null } });
    await settle();
    expect(t.shutdowns.length).toBe(1);
  });

  it('with control.password: the secret and the password both authenticate any call and shutdown', async () => {
    const t = await setup({ password: 'pw-of-admin' });
    expect((await t.call('serviceStatus')).status).toBe(401);
    expect((await t.call('shutdown')).status).toBe(401);
    expect((await t.call('serviceStatus', t.bearer(t.secret))).status).toBe(200);
    expect((await t.call('serviceStatus', t.bearer('pw-of-admin'))).status).toBe(200);
    expect((await t.call('shutdown', t.bearer('nope'))).status).toBe(401);
    await settle();
    expect(t.shutdowns).toEqual([]);
    expect((await t.call('shutdown', t.bearer('pw-of-admin'))).status).toBe(200);
    expect((await t.call('shutdown', t.bearer(t.secret))).status).toBe(200);
    await settle();
    expect(t.shutdowns.length).toBe(2);
  });

  it('a browser page cannot call shutdown even with a guessed header (foreign Origin refused)', async () => {
    const t = await setup();
    const r = await t.call('shutdown', { ...t.bearer(t.secret), Origin: 'http://evil.example' });
    expect(r.status).toBe(403);
    await settle();
    expect(t.shutdowns).toEqual([]);
  });

  it('where nothing can be shut down (the Electron app), shutdown answers 409', async () => {
    const t = await setup({ shutdownable: false });
    const r = await t.call('shutdown', t.bearer(t.secret));
    expect(r.status).toBe(409);
  });
});
