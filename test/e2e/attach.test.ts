// The desktop app attached to a running gateway (issue 16), with everything but Electron real:
// a real `sekisho serve --require-auth` (the Windows service's command line) on a temp work folder, the app's
// attach-or-supervise decision fed by a real probe of its control port, the HTTP ControlApi
// client the app's windows would talk through, real SMTP in and a real smtp-sink next hop.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Serve, SmtpClient, SmtpSinkChild, freePort, message, tempDir, until, writeWorkFolder } from './helpers/recipes-harness.js';
import { callControl, connectControl, probeControl, type RemoteControlApi } from '../../services/control/client.js';
import { readControlSecret } from '../../services/control/secret.js';
import { ControlError } from '../../services/control/errors.js';
import { attachedApi, decideAppMode } from '../../electron/attach.js';
import { dispatchCall } from '../../electron/ipc-policy.js';
import type { ControlEvent, TableView } from '../../services/control/api.js';

let dir: string;
let serve: Serve;
let sink: SmtpSinkChild;
let smtpPort: number;
let controlPort: number;

async function relay(subject: string): Promise<string> {
  const c = await SmtpClient.connect(smtpPort, '127.0.0.1');
  try {
    expect(await c.cmd('EHLO client.test')).toMatch(/^250/);
    expect(await c.cmd('MAIL FROM:<sender@outside.test>')).toMatch(/^250/);
    expect(await c.cmd('RCPT TO:<someone@test.jp>')).toMatch(/^250/);
    const { end } = await c.data(message({ from: 'sender@outside.test', to: 'someone@test.jp', subject }));
    expect(end).toMatch(/^250/);
  } finally {
    await c.quit();
  }
  return sink.waitFor(`Subject: ${subject}`, 30_000);
}

beforeAll(async () => {
  const root = await tempDir('sekisho-attach-');
  dir = join(root, 'mail');
  const { mkdir } = await import('node:fs/promises');
  await mkdir(join(root, 'sink'));
  sink = await SmtpSinkChild.start(join(root, 'sink'));
  smtpPort = await freePort();
  controlPort = await freePort();
  await writeWorkFolder(dir, {
    settings: {
      hostname: 'gw.test.jp',
      receiver: { bind: '127.0.0.1', ports: [smtpPort] },
      delivery: { retryIntervalSec: 1, postmaster: 'postmaster@test.jp' },
      control: { bind: '127.0.0.1', port: controlPort },
    },
    domains: ['test.jp'],
    gateway: [`test.jp, 127.0.0.1, ${sink.port}`],
    effect: ['#<> default', '#blank false'],
    aliases: ['someone@test.jp -> someone@test.jp'],
  });
  // As the installed service runs it (electron/windows-install.ts): every call needs the secret.
  serve = new Serve(dir, controlPort, { requireAuth: true });
  await serve.ready();
}, 90_000);

afterAll(async () => {
  const code = await serve?.stop();
  await sink?.close();
  expect(code, serve?.stderr.join('\n')).toBe(0);
}, 60_000);

describe('the app attaches to a running serve', () => {
  let client: RemoteControlApi;
  const events: ControlEvent[] = [];

  it('finds it on the configured port, opens it with the control secret, and decides to attach', async () => {
    const secret = readControlSecret(dir);
    expect(secret, 'serve writes <workdir>/control.secret at start').toMatch(/^[0-9a-f]{64}$/);
    const probe = await probeControl({ host: '127.0.0.1', port: controlPort, token: secret });
    expect(probe).toMatchObject({ kind: 'sekisho', authorized: true });
    const mode = decideAppMode({ probe, workdir: dir, serviceInstalled: false, secretFound: true, platform: process.platform, address: `127.0.0.1:${controlPort}` });
    expect(mode).toMatchObject({ mode: 'attach', waiting: false });

    client = connectControl({ host: '127.0.0.1', port: controlPort, token: secret, reconnectMs: 200 });
    client.on('event', (e: ControlEvent) => events.push(e));
    // The stream opens with the current status (http.ts sends it to every new subscriber).
    await until(() => events.find((e) => e.type === 'status'), 15_000, 'status event over the attached stream');
    expect(client.connected).toBe(true);
    const statuses = await client.serviceStatus();
    expect(statuses.map((s) => [s.name, s.state])).toEqual([
      ['receiver', 'running'],
      ['delivery', 'running'],
    ]);
  });

  it('edits a table through the service (the file on disk changes, versions are checked); a second app instance sees it', async () => {
    // A second administrator's Mail Control: another client of the same gateway.
    const other = connectControl({ host: '127.0.0.1', port: controlPort, token: readControlSecret(dir), reconnectMs: 200 });
    const otherEvents: ControlEvent[] = [];
    other.on('event', (e: ControlEvent) => otherEvents.push(e));
    let staleVersion = '';
    try {
      await until(() => other.connected, 15_000, 'second client connected');
      const view = (await client.readTable('aliases')) as TableView;
      const lines = view.lines.map((l) => l.raw);
      staleVersion = view.version;
      const saved = await client.saveTable({ table: 'aliases', lines: [...lines, 'sales@test.jp -> someone@test.jp'], baseVersion: view.version });
      expect(saved).toMatchObject({ ok: true });
      expect(await readFile(join(dir, 'aliases.dat'), 'utf8')).toContain('sales@test.jp -> someone@test.jp\r\n');
      const version = (saved as { version: string }).version;
      // Both windows hear of the change (the event stream of serve's file watcher).
      await until(() => otherEvents.find((e) => e.type === 'config' && e.table === 'aliases' && e.version === version), 20_000, 'config event at the second client');
      await until(() => events.find((e) => e.type === 'config' && e.table === 'aliases' && e.version === version), 20_000, 'config event at the first client');
      expect(((await other.readTable('aliases')) as TableView).version).toBe(version);
    } finally {
      other.close();
    }
    // A stale version is a conflict, as in the in-process API.
    const stale = await client.saveTable({ table: 'aliases', lines: ['x@test.jp -> x@test.jp'], baseVersion: staleVersion });
    expect(stale).toMatchObject({ ok: false, reason: 'conflict' });
    // A handler's refusal keeps its HTTP status and message.
    const err = await client.retryNow('B0000009999').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ControlError);
    expect((err as ControlError).status).toBe(404);
  });

  it('restarts the receiver in debug mode and reads its trace over the event stream (the debug console)', async () => {
    const status = await client.restartService('receiver', { debug: true });
    expect(status).toMatchObject({ name: 'receiver', state: 'running', debug: true });
    const from = events.length;
    await relay('attached-debug');
    const debugLines = () => events.slice(from).filter((e): e is Extract<ControlEvent, { type: 'debug' }> => e.type === 'debug' && e.service === 'receiver').map((e) => e.line);
    await until(() => debugLines().some((l) => /RCPT TO:<someone@test\.jp>/i.test(l)), 20_000, 'receiver trace of the RCPT');
    expect((await client.debugOutput('receiver')).length).toBeGreaterThan(0);
    const back = await client.restartService('receiver', { debug: false });
    expect(back).toMatchObject({ state: 'running', debug: false });
  });

  it('the windows reach it through the IPC adapter; shutdown is not theirs to call', async () => {
    const api = attachedApi(client);
    const trusted = { appIndexUrl: 'file:///app/dist/renderer/index.html', devServerUrl: null };
    const queue = await dispatchCall(api, trusted.appIndexUrl, trusted, 'listQueue', []);
    expect(Array.isArray(queue)).toBe(true);
    const version = (await dispatchCall(api, trusted.appIndexUrl, trusted, 'version', [])) as { workdir: string };
    expect(version.workdir).toBe(dir);
    const refused = await dispatchCall(api, trusted.appIndexUrl, trusted, 'shutdown', []).catch((e: unknown) => e);
    expect(String((refused as Error).message ?? refused)).toMatch(/net stop SekishoGateway/);
    expect((await client.serviceStatus()).every((s) => s.state === 'running')).toBe(true);
  });

  it('quitting the client leaves the gateway running and relaying', async () => {
    client.close();
    expect(client.connected).toBe(false);
    await expect(client.version()).rejects.toThrow(/closed/);
    const dump = await relay('after-the-app-quit');
    expect(dump).toContain('someone@test.jp');
    const probe = await probeControl({ host: '127.0.0.1', port: controlPort, token: readControlSecret(dir) });
    expect(probe).toMatchObject({ kind: 'sekisho', authorized: true });
  });
});

describe('a wrong or missing secret is refused', () => {
  const wrong = 'f'.repeat(64);

  it('a wrong secret: the probe says so, the app refuses to attach and does not supervise either', async () => {
    const probe = await probeControl({ host: '127.0.0.1', port: controlPort, token: wrong });
    expect(probe).toMatchObject({ kind: 'sekisho', authorized: false });
    const mode = decideAppMode({ probe, workdir: dir, serviceInstalled: true, secretFound: true, platform: process.platform, address: `127.0.0.1:${controlPort}` });
    expect(mode.mode).toBe('refuse');
    const err = await callControl({ host: '127.0.0.1', port: controlPort, token: wrong }, 'listQueue', []).catch((e: unknown) => e);
    expect((err as ControlError).status).toBe(401);
  });

  it('no secret: shutdown is refused, and the gateway keeps relaying', async () => {
    const err = await callControl({ host: '127.0.0.1', port: controlPort, token: null }, 'shutdown', []).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ControlError);
    expect([401, 403]).toContain((err as ControlError).status);
    // The service requires authentication for every call: another local user who cannot read
    // the work folder gets neither the queue nor the relay rules.
    for (const [method, args] of [['listQueue', []], ['readTable', ['effect']]] as const) {
      const refused = await callControl({ host: '127.0.0.1', port: controlPort, token: null }, method, [...args]).catch((e: unknown) => e);
      expect((refused as ControlError).status, method).toBe(401);
    }
    expect(await probeControl({ host: '127.0.0.1', port: controlPort, token: null })).toMatchObject({ kind: 'sekisho', authorized: false });
    await relay('after-refused-shutdown');
  });
});
