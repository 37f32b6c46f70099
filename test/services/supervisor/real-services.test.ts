// The Supervisor with its default command line: the real `sekisho receiver` and
// `sekisho delivery` on a fresh work folder and a free port.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Supervisor } from '../../../services/supervisor/index.js';
import { initWorkdir } from '../../../services/config/init.js';
import { alive, waitFor } from './helpers.js';
import { childrenOf } from '../../../bench/lib/rss.js';

let sup: Supervisor | null = null;
afterEach(async () => {
  await sup?.close();
  sup = null;
});

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('Supervisor with the real services', () => {
  it('runs receiver and delivery, switches the receiver to debug output, stops both', async () => {
    const workdir = await mkdtemp(join(tmpdir(), 'sekisho-real-'));
    const port = await freePort();
    await initWorkdir(workdir, { ports: [port], controlPort: await freePort() });
    sup = new Supervisor({ workdir });
    const [receiver, delivery] = await Promise.all([sup.start('receiver'), sup.start('delivery')]);
    expect(receiver).toMatchObject({ state: 'running', ports: [port], debug: false });
    expect(delivery).toMatchObject({ state: 'running' });

    const debug = await sup.restart('receiver', { debug: true });
    expect(debug).toMatchObject({ state: 'running', ports: [port], debug: true });
    expect(alive(receiver.pid!)).toBe(false);
    // --debug prints the effective configuration before `ready` (SPEC 9).
    const out = sup.debugOutput('receiver');
    const readyAt = out.lastIndexOf(`ready ports=${port}`);
    expect(readyAt).toBeGreaterThan(0);
    expect(out.slice(0, readyAt).some((l) => l.includes(String(port)))).toBe(true);

    await sup.close();
    expect(sup.statusAll().map((s) => s.state)).toEqual(['stopped', 'stopped']);
    expect([debug.pid!, delivery.pid!].filter(alive)).toEqual([]);
  });

  it('stops a receiver of two processes (cluster workers) with the stop line: primary and workers exit 0', async () => {
    const workdir = await mkdtemp(join(tmpdir(), 'sekisho-real-'));
    const port = await freePort();
    await initWorkdir(workdir, { ports: [port], controlPort: await freePort() });
    const settingsPath = join(workdir, 'settings.json');
    const settings = JSON.parse(await readFile(settingsPath, 'utf8'));
    settings.receiver = { ...settings.receiver, processes: 2 };
    await writeFile(settingsPath, JSON.stringify(settings, null, 2));
    sup = new Supervisor({ workdir, services: ['receiver'] });
    const st = await sup.start('receiver');
    expect(st.state).toBe('running');
    const workers = await waitFor(() => (childrenOf(st.pid!).length === 2 ? childrenOf(st.pid!) : null), 10_000, 'two workers');
    const stopped = await sup.stop('receiver');
    // Exit 0 of the primary means every worker exited 0 too (receiver-primary.ts).
    expect(stopped.lastExit).toMatchObject({ code: 0, signal: null, reason: 'stopped' });
    expect([st.pid!, ...workers].filter(alive)).toEqual([]);
  });
});
