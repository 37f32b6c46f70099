// Debug consoles: URL checks, and the open/close cycle restarting a real supervised child in
// debug mode and back. The window is the only stand-in (the Electron binary is not here).
import { describe, it, expect, afterEach } from 'vitest';
import { EventEmitter } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DebugConsoles, debugServiceFromUrl } from '../../electron/debug-console.js';
import { Supervisor } from '../../services/supervisor/index.js';
import { standInCommand, writeStandIn } from '../services/supervisor/helpers.js';
import type { ServiceName } from '../../services/control/api.js';

const app = pathToFileURL('/opt/Sekisho/resources/app.asar/dist/renderer/index.html').toString();

describe('debugServiceFromUrl', () => {
  it('names the service for our page with #debug=<service>', () => {
    expect(debugServiceFromUrl(`${app}#debug=receiver`, app)).toBe('receiver');
    expect(debugServiceFromUrl(`${app}#debug=delivery`, app)).toBe('delivery');
    expect(debugServiceFromUrl('http://localhost:5173/#debug=receiver', 'http://localhost:5173/')).toBe('receiver');
  });

  it('refuses other pages and other services', () => {
    expect(debugServiceFromUrl(`${app}#debug=shell`, app)).toBeNull();
    expect(debugServiceFromUrl(`${app}#tab=queue`, app)).toBeNull();
    expect(debugServiceFromUrl(`${pathToFileURL('/tmp/x.html')}#debug=receiver`, app)).toBeNull();
    expect(debugServiceFromUrl('https://evil.example/#debug=receiver', app)).toBeNull();
    expect(debugServiceFromUrl('nonsense', app)).toBeNull();
  });
});

class FakeWindow extends EventEmitter {
  focused = 0;
  focus() {
    this.focused++;
  }
  close() {
    this.emit('closed');
  }
}

let dir: string | null = null;
let sup: Supervisor | null = null;
afterEach(async () => {
  await sup?.close();
  sup = null;
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = null;
});

describe('DebugConsoles', () => {
  it('opening restarts the service in debug mode, a second open focuses, closing restarts it normally', async () => {
    dir = await mkdtemp(join(tmpdir(), 'sekisho-debugwin-'));
    // A tiny service: says ready (and which mode it runs in), then waits for the supervisor's
    // `stop` line (writeStandIn), so each restart stops it gracefully instead of after the grace.
    const script = await writeStandIn(dir, 'svc', "console.log(process.argv.includes('--debug') ? 'trace on' : 'quiet');console.log('ready');setInterval(()=>{},1000);");
    sup = new Supervisor({
      workdir: dir,
      services: ['receiver'],
      commandFor: (_name, debug) => standInCommand(script, debug ? ['--debug'] : []),
      stopGraceMs: 2000,
      startTimeoutMs: 10_000,
    });
    await sup.start('receiver');
    expect(sup.status('receiver').debug).toBe(false);

    const created: Array<{ service: ServiceName; win: FakeWindow }> = [];
    const consoles = new DebugConsoles(sup, (service) => {
      const win = new FakeWindow();
      created.push({ service, win });
      return win;
    });
    const until = async (pred: () => boolean) => {
      for (let i = 0; i < 200 && !pred(); i++) await new Promise((r) => setTimeout(r, 25));
      return pred();
    };

    const win = consoles.open('receiver');
    expect(await until(() => sup!.status('receiver').debug && sup!.status('receiver').state === 'running')).toBe(true);
    expect(sup.debugOutput('receiver')).toContain('trace on');
    expect(consoles.open('receiver')).toBe(win);
    expect(win.focused).toBe(1);
    expect(created).toHaveLength(1);
    expect(consoles.windows.get('receiver')).toBe(win);

    win.close();
    expect(consoles.windows.has('receiver')).toBe(false);
    expect(await until(() => !sup!.status('receiver').debug && sup!.status('receiver').state === 'running')).toBe(true);
  });

  it('after shutdown, closing a console restarts nothing', async () => {
    const calls: Array<{ debug?: boolean }> = [];
    const consoles = new DebugConsoles({ restart: async (_n, o) => void calls.push(o ?? {}) }, () => new FakeWindow());
    const w = consoles.open('delivery');
    consoles.shutdown();
    w.close();
    expect(calls).toEqual([{ debug: true }]);
  });
});
