// The stop protocol end to end between a real Supervisor and real child processes: the child
// side is services/supervisor/stop-request.ts (what `sekisho receiver`/`delivery` run), with
// and without the parent guard's preload. A child that stops gracefully records why, so the
// test tells the graceful path from a kill (which records nothing).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Supervisor, withParentGuard } from '../../../services/supervisor/index.js';
import { hasStopLine } from '../../../services/supervisor/stop-request.js';
import { PARENT_GUARD_IMPORT, withoutParentGuard } from '../../../services/supervisor/parent-guard.js';
import { alive, scriptDir, waitFor, writeScript } from './helpers.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const STOP_REQUEST = join(ROOT, 'services/supervisor/stop-request.ts');
const SUPERVISOR = join(ROOT, 'services/supervisor/index.ts');

const live: Supervisor[] = [];
afterEach(async () => {
  for (const s of live.splice(0)) await s.close();
});

/** A child that stops the graceful way: writes why to `marker`, then exits 0 after a short drain. */
async function gracefulChild(dir: string, marker: string): Promise<string> {
  return writeScript(
    dir,
    'child.mts',
    `import { writeFileSync } from 'node:fs';
     import { onStopRequest } from ${JSON.stringify(STOP_REQUEST)};
     onStopRequest((why) => {
       // "Work in flight" finishes first, then the exit hooks run.
       setTimeout(() => { writeFileSync(${JSON.stringify(marker)}, why); process.exit(0); }, 200);
     });
     console.log('ready');
     setInterval(() => {}, 1000);`,
  );
}

function supervise(child: string, guard: boolean): Supervisor {
  const args = ['--import', 'tsx', child];
  const sup = new Supervisor({
    workdir: '/nonexistent',
    services: ['delivery'],
    commandFor: () => ({ command: process.execPath, args: guard ? withParentGuard(args) : args, cwd: ROOT }),
    stopGraceMs: 10_000,
    restartOnCrash: false,
  });
  live.push(sup);
  return sup;
}

describe('stop protocol', () => {
  for (const guard of [false, true]) {
    it(`a 'stop' line on stdin stops the child gracefully, exit 0 (${guard ? 'read by the parent guard' : 'no parent guard'})`, async () => {
      const dir = await scriptDir();
      const marker = join(dir, 'stopped-because');
      const sup = supervise(await gracefulChild(dir, marker), guard);
      const st = await sup.start('delivery');
      const stopped = await sup.stop('delivery');
      expect(readFileSync(marker, 'utf8')).toBe('stop requested by the supervisor');
      expect(stopped.lastExit).toMatchObject({ code: 0, signal: null, reason: 'stopped' });
      expect(stopped.lastError).toBeNull();
      expect(alive(st.pid!)).toBe(false);
    });
  }

  it('a supervisor killed with SIGKILL: the guard turns stdin EOF into the same graceful stop', async () => {
    const dir = await scriptDir();
    const marker = join(dir, 'stopped-because');
    const child = await gracefulChild(dir, marker);
    const host = await writeScript(
      dir,
      'host.mts',
      `import { Supervisor, withParentGuard } from ${JSON.stringify(SUPERVISOR)};
       const sup = new Supervisor({ workdir: ${JSON.stringify(dir)}, services: ['delivery'],
         commandFor: () => ({ command: process.execPath, args: withParentGuard(['--import', 'tsx', ${JSON.stringify(child)}]), cwd: ${JSON.stringify(ROOT)} }) });
       const st = await sup.start('delivery');
       console.log('child ' + st.pid);
       setInterval(() => {}, 1000);`,
    );
    const proc = spawn(process.execPath, ['--import', 'tsx', host], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    const childPid = await waitFor(() => Number(/child (\d+)/.exec(out)?.[1] ?? 0), 30_000, 'child pid');
    proc.kill('SIGKILL');
    await waitFor(() => !alive(childPid), 10_000, 'child gone');
    expect(existsSync(marker)).toBe(true);
    expect(readFileSync(marker, 'utf8')).toBe('the supervisor is gone (stdin closed)');
  });
});

describe('stop protocol helpers', () => {
  it('hasStopLine wants a whole line, LF or CRLF', () => {
    expect(hasStopLine('stop\n')).toBe(true);
    expect(hasStopLine('noise\r\nstop\r\n')).toBe(true);
    expect(hasStopLine('stop')).toBe(false);
    expect(hasStopLine('nonstop\n')).toBe(false);
    expect(hasStopLine('stopped\n')).toBe(false);
  });

  it('withoutParentGuard removes exactly the guard from node arguments', () => {
    const args = withParentGuard(['--import', 'tsx', 'main.ts']);
    expect(args.slice(0, 2)).toEqual(['--import', PARENT_GUARD_IMPORT]);
    expect(withoutParentGuard(args)).toEqual(['--import', 'tsx', 'main.ts']);
    expect(withoutParentGuard([`--import=${PARENT_GUARD_IMPORT}`, '--enable-source-maps'])).toEqual(['--enable-source-maps']);
  });
});
