// The Supervisor against real child processes: small throwaway scripts standing in for the
// receiver and delivery, with the same `ready` protocol.
import { createServer, type Server } from 'node:net';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Supervisor, type SupervisorOptions } from '../../../services/supervisor/index.js';
import type { ControlEvent, ServiceName } from '../../../services/control/api.js';
import { alive, scriptDir, waitFor, writeScript } from './helpers.js';

const node = process.execPath;
const live: Supervisor[] = [];

function supervise(scripts: Partial<Record<ServiceName, { path: string; args?: string[] }>>, opts: Partial<SupervisorOptions> = {}) {
  const sup = new Supervisor({
    workdir: '/nonexistent',
    services: Object.keys(scripts) as ServiceName[],
    commandFor: (name, debug) => ({
      command: node,
      args: [scripts[name]!.path, ...(scripts[name]!.args ?? []), ...(debug ? ['--debug'] : [])],
    }),
    stopGraceMs: 2_000,
    startTimeoutMs: 10_000,
    ...opts,
  });
  live.push(sup);
  return sup;
}

afterEach(async () => {
  for (const s of live.splice(0)) await s.close();
});

// Stays up until the supervisor's `stop` line on stdin (the stop protocol, spoken here by
// hand: services/supervisor/stop-request.ts); prints its argv so the test sees the --debug flag.
const SERVER = `
let said = '';
process.stdin.on('data', (d) => { said += d; if (said.includes('stop\\n')) { console.log('bye'); process.exit(0); } });
console.log('args ' + process.argv.slice(2).join(' '));
console.log('ready ports=2525,2526');
setInterval(() => {}, 1000);
`;

describe('Supervisor', () => {
  it('starts a child, reports it running with pid, ports and uptime, and stops it', async () => {
    const dir = await scriptDir();
    const sup = supervise({ receiver: { path: await writeScript(dir, 'server.mjs', SERVER) } });
    const events: ControlEvent[] = [];
    sup.on('event', (e: ControlEvent) => events.push(e));

    expect(sup.status('receiver').state).toBe('stopped');
    const st = await sup.start('receiver');
    expect(st.state).toBe('running');
    expect(st.ports).toEqual([2525, 2526]);
    expect(st.pid).toBeGreaterThan(0);
    expect(st.uptimeMs).toBeGreaterThanOrEqual(0);
    expect(st.debug).toBe(false);
    expect(alive(st.pid!)).toBe(true);
    expect(sup.debugOutput('receiver')).toContain('ready ports=2525,2526');
    // A second start of a running service is a no-op, not a second child.
    expect((await sup.start('receiver')).pid).toBe(st.pid);

    const stopped = await sup.stop('receiver');
    expect(stopped.state).toBe('stopped');
    expect(stopped.pid).toBeNull();
    expect(stopped.uptimeMs).toBeNull();
    expect(stopped.lastExit).toMatchObject({ code: 0, reason: 'stopped' });
    expect(stopped.lastError).toBeNull();
    expect(alive(st.pid!)).toBe(false);

    const states = events.filter((e) => e.type === 'status').map((e) => (e as { services: Array<{ state: string }> }).services[0].state);
    expect(states).toEqual(['starting', 'running', 'stopping', 'stopped']);
    const debugLines = events.filter((e) => e.type === 'debug').map((e) => (e as { line: string }).line);
    expect(debugLines).toContain('bye');
  });

  it('passes --debug and switches it with restart', async () => {
    const dir = await scriptDir();
    const sup = supervise({ delivery: { path: await writeScript(dir, 'server.mjs', SERVER) } });
    const first = await sup.start('delivery');
    expect(first.debug).toBe(false);
    expect(sup.debugOutput('delivery')).toContain('args ');
    const second = await sup.restart('delivery', { debug: true });
    expect(second.debug).toBe(true);
    expect(second.pid).not.toBe(first.pid);
    expect(alive(first.pid!)).toBe(false);
    expect(sup.debugOutput('delivery')).toContain('args --debug');
  });

  it('kills the whole tree: a grandchild goes with its parent', async () => {
    const dir = await scriptDir();
    const grandchild = await writeScript(dir, 'grandchild.mjs', `setInterval(() => {}, 1000);`);
    const parent = await writeScript(
      dir,
      'parent.mjs',
      `import { spawn } from 'node:child_process';
       // The parent ignores SIGTERM like a hung service would; only SIGKILL of the group ends it.
       process.on('SIGTERM', () => {});
       const g = spawn(process.execPath, [${JSON.stringify(grandchild)}], { stdio: 'ignore' });
       console.log('grandchild ' + g.pid);
       console.log('ready');
       setInterval(() => {}, 1000);`,
    );
    const sup = supervise({ receiver: { path: parent } }, { stopGraceMs: 300 });
    const st = await sup.start('receiver');
    const line = sup.debugOutput('receiver').find((l) => l.startsWith('grandchild '))!;
    const gpid = Number(line.split(' ')[1]);
    expect(alive(gpid)).toBe(true);
    const stopped = await sup.stop('receiver');
    expect(stopped.state).toBe('stopped');
    expect(stopped.lastExit?.signal).toBe('SIGKILL');
    // The parent never answered the stop request: the kill is reported, not passed off as a stop.
    expect(stopped.lastExit?.reason).toBe('killed after 0.3 s: did not stop within the grace period');
    expect(stopped.lastError).toBe(stopped.lastExit?.reason);
    expect(sup.debugOutput('receiver').some((l) => l.includes('did not stop within 0.3 s'))).toBe(true);
    await waitFor(() => !alive(st.pid!) && !alive(gpid), 5_000, 'parent and grandchild gone');
  });

  it('restarts a crashing child with growing delays and counts the restarts', async () => {
    const dir = await scriptDir();
    const stamps = join(dir, 'starts.txt');
    const crasher = await writeScript(
      dir,
      'crash.mjs',
      `import { appendFileSync } from 'node:fs';
       appendFileSync(${JSON.stringify(stamps)}, Date.now() + '\\n');
       console.log('ready');
       setTimeout(() => { console.error('boom: out of cheese'); process.exit(3); }, 20);`,
    );
    const sup = supervise({ delivery: { path: crasher } }, { backoff: { initialMs: 100, maxMs: 400, resetAfterMs: 60_000 } });
    await sup.start('delivery');
    const st = await waitFor(() => {
      const s = sup.status('delivery');
      return s.restarts >= 4 ? s : null;
    }, 15_000, 'four restarts');
    expect(['starting', 'running', 'backoff']).toContain(st.state);
    expect(sup.status('delivery').lastError).toBe('boom: out of cheese');
    const crashed = await waitFor(() => {
      const s = sup.status('delivery');
      return s.state === 'backoff' ? s : null;
    }, 5_000, 'backoff state');
    expect(crashed.lastExit).toMatchObject({ code: 3, reason: 'boom: out of cheese' });
    expect(crashed.nextRestartAt).not.toBeNull();
    await sup.stop('delivery');
    expect(sup.status('delivery').nextRestartAt).toBeNull();

    // Never earlier than the backoff allows (lower bounds only: a busy machine is slower).
    const starts = (await readFile(stamps, 'utf8')).trim().split('\n').map(Number);
    expect(starts.length).toBeGreaterThanOrEqual(5);
    const gaps = starts.slice(1).map((t, i) => t - starts[i]);
    expect(gaps[0]).toBeGreaterThanOrEqual(100);
    expect(gaps[1]).toBeGreaterThanOrEqual(200);
    expect(gaps[2]).toBeGreaterThanOrEqual(400);
    expect(gaps[3]).toBeGreaterThanOrEqual(400);
    // After stop() no restart happens any more.
    const count = starts.length;
    await new Promise((r) => setTimeout(r, 600));
    expect((await readFile(stamps, 'utf8')).trim().split('\n').length).toBe(count);
  });

  it('starts the backoff over after the child stayed up long enough', async () => {
    const dir = await scriptDir();
    const crasher = await writeScript(dir, 'late.mjs', `console.log('ready'); setTimeout(() => process.exit(1), 400);`);
    const sup = supervise({ delivery: { path: crasher } }, { backoff: { initialMs: 150, maxMs: 10_000, resetAfterMs: 200 } });
    await sup.start('delivery');
    for (let i = 0; i < 3; i++) {
      const st = await waitFor(() => {
        const s = sup.status('delivery');
        return s.state === 'backoff' && s.restarts === i ? s : null;
      }, 10_000, `crash ${i + 1}`);
      const delay = Date.parse(st.nextRestartAt!) - Date.parse(st.lastExit!.at);
      expect(delay).toBeLessThan(300);
    }
  });

  it('surfaces a port in use as lastError and backs off', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const dir = await scriptDir();
      const listener = await writeScript(
        dir,
        'listen.mjs',
        `import { createServer } from 'node:net';
         const s = createServer();
         s.on('error', (e) => { console.error('sekisho receiver: ' + e.stack); process.exit(1); });
         s.listen(${port}, '127.0.0.1', () => console.log('ready ports=${port}'));`,
      );
      const sup = supervise({ receiver: { path: listener } }, { backoff: { initialMs: 5_000, maxMs: 5_000, resetAfterMs: 60_000 } });
      await expect(sup.start('receiver')).rejects.toThrow(`port ${port} is already in use`);
      const st = sup.status('receiver');
      expect(st.state).toBe('crashed');
      expect(st.lastError).toBe(`port ${port} is already in use`);
      expect(st.pid).toBeNull();
      expect(st.nextRestartAt).not.toBeNull();

      // Free the port: an administrator's start works at once, without waiting for the backoff.
      await new Promise<void>((r) => blocker.close(() => r()));
      const ok = await sup.start('receiver');
      expect(ok.state).toBe('running');
      expect(ok.ports).toEqual([port]);
      expect(ok.lastError).toBeNull();
      expect(ok.nextRestartAt).toBeNull();
    } finally {
      blocker.close();
    }
  });

  it('kills a child that never says ready and reports it', async () => {
    const dir = await scriptDir();
    const mute = await writeScript(dir, 'mute.mjs', `setInterval(() => {}, 1000);`);
    const sup = supervise({ delivery: { path: mute } }, { startTimeoutMs: 500, restartOnCrash: false });
    await expect(sup.start('delivery')).rejects.toThrow('did not report ready');
    const st = sup.status('delivery');
    expect(st.state).toBe('crashed');
    expect(st.nextRestartAt).toBeNull();
    expect(st.lastExit?.signal).toBe('SIGKILL');
  });

  it('reports a command that cannot be started', async () => {
    const sup = new Supervisor({
      workdir: '/nonexistent',
      services: ['receiver'],
      commandFor: () => ({ command: '/nonexistent/sekisho-binary', args: [] }),
      restartOnCrash: false,
    });
    live.push(sup);
    await expect(sup.start('receiver')).rejects.toThrow(/ENOENT/);
    expect(sup.status('receiver')).toMatchObject({ state: 'crashed', pid: null });
  });

  it('stop during startup ends the start and leaves nothing running', async () => {
    const dir = await scriptDir();
    const slow = await writeScript(dir, 'slow.mjs', `setTimeout(() => console.log('ready'), 5000); setInterval(() => {}, 1000);`);
    const sup = supervise({ delivery: { path: slow } });
    const starting = sup.start('delivery');
    const pid = await waitFor(() => sup.status('delivery').pid, 5_000, 'pid');
    const stopped = await sup.stop('delivery');
    await expect(starting).rejects.toThrow('stopped before it was ready');
    expect(stopped.state).toBe('stopped');
    expect(alive(pid)).toBe(false);
  });
});
