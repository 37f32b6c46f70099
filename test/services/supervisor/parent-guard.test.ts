// A supervisor killed with SIGKILL gets no chance to stop its children: the parent guard
// makes them stop themselves. Without the guard (the control case) the child survives.
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { alive, scriptDir, waitFor, writeScript } from './helpers.js';

const SUPERVISOR = resolve(import.meta.dirname, '../../../services/supervisor/index.ts');

async function orphanAfterParentKill(guard: boolean): Promise<{ childPid: number; alive: boolean }> {
  const dir = await scriptDir();
  const child = await writeScript(dir, 'child.mjs', `console.log('ready'); setInterval(() => {}, 1000);`);
  const host = await writeScript(
    dir,
    'host.mts',
    `import { Supervisor, withParentGuard } from ${JSON.stringify(SUPERVISOR)};
     const sup = new Supervisor({ workdir: ${JSON.stringify(dir)}, services: ['delivery'],
       commandFor: () => ({ command: process.execPath, args: ${guard} ? withParentGuard([${JSON.stringify(child)}]) : [${JSON.stringify(child)}] }) });
     const st = await sup.start('delivery');
     console.log('child ' + st.pid);
     setInterval(() => {}, 1000);`,
  );
  const proc = spawn(process.execPath, ['--import', 'tsx', host], { cwd: join(import.meta.dirname, '../../..'), stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  const childPid = await waitFor(() => Number(/child (\d+)/.exec(out)?.[1] ?? 0), 20_000, 'child pid');
  proc.kill('SIGKILL');
  await new Promise((r) => proc.once('exit', r));
  const gone = await waitFor(() => !alive(childPid), 5_000, 'child gone').catch(() => false);
  return { childPid, alive: !gone };
}

describe('parent guard', () => {
  it('stops a child whose supervisor was SIGKILLed', async () => {
    const r = await orphanAfterParentKill(true);
    expect(r.alive).toBe(false);
  });

  it('(control) without the guard the orphan survives', async () => {
    const r = await orphanAfterParentKill(false);
    try {
      expect(r.alive).toBe(true);
    } finally {
      process.kill(-r.childPid, 'SIGKILL');
    }
  });
});
