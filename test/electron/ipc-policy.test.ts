// The checks of the one IPC channel, and a dispatch through it onto the real ControlApi
// handlers over a fresh work folder.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { argsProblem, dispatchCall, IpcRefused, isControlMethod, isTrustedSender } from '../../electron/ipc-policy.js';
import { CONTROL_METHODS, type ControlApi } from '../../services/control/api.js';
import { createControlApi } from '../../services/control/handlers.js';
import { Supervisor } from '../../services/supervisor/index.js';
import { initWorkdir } from '../../services/config/init.js';

const appIndexUrl = pathToFileURL('/opt/Sekisho/resources/app.asar/dist/renderer/index.html').toString();
const trusted = { appIndexUrl, devServerUrl: null };

describe('isControlMethod', () => {
  it('accepts exactly the ControlApi methods', () => {
    for (const m of CONTROL_METHODS) expect(isControlMethod(m)).toBe(true);
    for (const m of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'readtable', '', 42, null, undefined, {}]) {
      expect(isControlMethod(m)).toBe(false);
    }
  });
});

describe('isTrustedSender', () => {
  it('trusts our index.html with any hash or query (the debug console is #debug=receiver)', () => {
    expect(isTrustedSender(appIndexUrl, trusted)).toBe(true);
    expect(isTrustedSender(`${appIndexUrl}#debug=receiver`, trusted)).toBe(true);
    expect(isTrustedSender(`${appIndexUrl}?x=1`, trusted)).toBe(true);
  });

  it('refuses other files, other schemes, remote pages and garbage', () => {
    for (const url of [
      pathToFileURL('/tmp/evil.html').toString(),
      pathToFileURL('/opt/Sekisho/resources/app.asar/dist/renderer/other.html').toString(),
      'https://example.com/index.html',
      'http://127.0.0.1:8025/',
      'devtools://devtools/bundled/inspector.html',
      'about:blank',
      'data:text/html,<script>1</script>',
      '',
      'not a url',
      null,
      undefined,
    ]) {
      expect(isTrustedSender(url, trusted), String(url)).toBe(false);
    }
  });

  it('trusts the dev server origin only when one is configured', () => {
    const dev = { appIndexUrl, devServerUrl: 'http://localhost:5173/' };
    expect(isTrustedSender('http://localhost:5173/#tab=queue', dev)).toBe(true);
    expect(isTrustedSender('http://localhost:5174/', dev)).toBe(false);
    expect(isTrustedSender('http://localhost:5173/', trusted)).toBe(false);
  });
});

describe('argsProblem', () => {
  it('accepts JSON arrays', () => {
    expect(argsProblem([])).toBeNull();
    expect(argsProblem(['effect', ['a', "' コメント"], { table: 'effect', force: true, n: 1.5, x: null }])).toBeNull();
  });

  it('refuses what is not a JSON array', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    let deep: unknown = 'x';
    for (let i = 0; i < 40; i++) deep = [deep];
    const cases: unknown[] = [
      'effect',
      { 0: 'effect' },
      null,
      [() => 1],
      [NaN],
      [Infinity],
      [BigInt(1)],
      [Symbol('x')],
      [undefined],
      [new Date()],
      [new Map()],
      [cyclic],
      [deep],
      [JSON.parse('{"__proto__": {"polluted": true}}')],
      [{ constructor: { prototype: {} } }],
      [new Array(300_000).fill(0)],
    ];
    cases.forEach((c, i) => expect(argsProblem(c), `case ${i}`).not.toBeNull());
  });
});

describe('dispatchCall onto the ControlApi', () => {
  let dir: string;
  let api: ControlApi;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sekisho-ipc-'));
    await initWorkdir(dir, { ports: [2525] });
    api = createControlApi({ workdir: dir, supervisor: new Supervisor({ workdir: dir }) });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs an allowed call from our page', async () => {
    const view = (await dispatchCall(api, appIndexUrl, trusted, 'readTable', ['effect'])) as { table: string; lines: unknown[] };
    expect(view.table).toBe('effect');
    expect(view.lines.length).toBeGreaterThan(0);
    const diags = (await dispatchCall(api, appIndexUrl, trusted, 'validateTable', ['effect', ['192.168.0.1 maybe']])) as Array<{ code: string }>;
    expect(diags.map((d) => d.code)).toContain('effect.bad-action');
  });

  it('refuses a foreign sender, an unknown method and bad arguments before touching the API', async () => {
    await expect(dispatchCall(api, 'https://evil.example/', trusted, 'readTable', ['effect'])).rejects.toBeInstanceOf(IpcRefused);
    await expect(dispatchCall(api, appIndexUrl, trusted, 'constructor', [])).rejects.toThrow(/unknown method/);
    await expect(dispatchCall(api, appIndexUrl, trusted, 'readTable', 'effect')).rejects.toThrow(/array/);
    await expect(dispatchCall(api, appIndexUrl, trusted, 'saveTable', [{ table: 'effect', lines: [() => 1] }])).rejects.toThrow(/not JSON/);
  });

  it('passes the handlers\' own errors through (bad table name)', async () => {
    await expect(dispatchCall(api, appIndexUrl, trusted, 'readTable', ['../../etc/passwd'])).rejects.toThrow();
  });
});
