// The forced kills (services/supervisor/kill-tree.ts) on real processes: the group of a
// detached leader, the fallback to the child itself when there is no group, and the single
// process that `sekisho stop` kills after its timeout. (The Windows taskkill chain runs in the
// Windows lane.)
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { killProcessSync, killTree, processAlive, treeAlive } from '../../../services/supervisor/kill-tree.js';
import { waitFor } from './helpers.js';

const IDLE = 'setInterval(() => {}, 1000); process.on("SIGTERM", () => {});';

function exitOf(child: ReturnType<typeof spawn>): Promise<NodeJS.Signals | null> {
  return new Promise((r) => child.once('exit', (_code, signal) => r(signal)));
}

describe.skipIf(process.platform === 'win32')('kill-tree (POSIX)', () => {
  it('killTree ends a detached leader and its whole group', async () => {
    const leader = spawn(
      process.execPath,
      ['-e', `const g = require('child_process').spawn(process.execPath, ['-e', ${JSON.stringify(IDLE)}], { stdio: 'ignore' }); console.log('grandchild ' + g.pid); ${IDLE}`],
      { detached: true, stdio: ['ignore', 'pipe', 'ignore'] },
    );
    const exited = exitOf(leader);
    let out = '';
    leader.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    const grandchild = await waitFor(() => Number(/grandchild (\d+)/.exec(out)?.[1] ?? 0), 10_000, 'grandchild pid');
    expect(processAlive(grandchild)).toBe(true);
    killTree(leader.pid!, leader);
    expect(await exited).toBe('SIGKILL');
    await waitFor(() => !processAlive(grandchild) && !treeAlive(leader.pid!), 5_000, 'grandchild and group gone');
  });

  it('killTree falls back to the child itself when it leads no group', async () => {
    const child = spawn(process.execPath, ['-e', IDLE], { stdio: 'ignore' });
    const exited = exitOf(child);
    killTree(child.pid!, child);
    expect(await exited).toBe('SIGKILL');
  });

  it('killProcessSync ends one process that is not our group leader; processAlive sees it go', async () => {
    const child = spawn(process.execPath, ['-e', IDLE], { stdio: 'ignore' });
    const exited = exitOf(child);
    await waitFor(() => processAlive(child.pid!), 5_000, 'up');
    killProcessSync(child.pid!);
    expect(await exited).toBe('SIGKILL');
    expect(processAlive(child.pid!)).toBe(false);
  });
});
