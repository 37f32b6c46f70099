// The forced end of a child and everything it started: only after the graceful stop
// (stop-request.ts) had its grace period, for a child that never said ready, and as the
// synchronous last resort when the supervisor itself exits. A service is spawned as the leader
// of its own process group on POSIX (spawn detached), so one SIGKILL to -pid reaches the
// grandchildren too; Windows has no process groups, so `taskkill /T` walks the tree. The
// supervisor must never leave a child running (SPEC 11: "never leaving a service that cannot
// be stopped"), so every failure falls back to something smaller that still ends the child.
import { execFile, execFileSync, type ChildProcess } from 'node:child_process';

const isWindows = process.platform === 'win32';

/**
 * Kill the child's whole tree now. Windows: `taskkill /PID n /T /F`; when that fails (taskkill
 * missing, access denied to a grandchild, a Wine without it) `/PID n /F` for the child alone,
 * then `child.kill()`. POSIX: SIGKILL to the process group, else to the child.
 */
export function killTree(pid: number, child?: ChildProcess | null): void {
  if (isWindows) {
    const opts = { windowsHide: true };
    execFile('taskkill', ['/PID', String(pid), '/T', '/F'], opts, (err) => {
      if (!err) return;
      execFile('taskkill', ['/PID', String(pid), '/F'], opts, (err2) => {
        if (err2) child?.kill();
      });
    });
    return;
  }
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // No such group (already gone, or not a group leader): the child alone.
    child?.kill('SIGKILL');
  }
}

/**
 * After a leader exited: what it left behind in its process group (POSIX). Nothing on Windows:
 * there is no group, and the dead leader's PID may already belong to an unrelated process.
 */
export function killGroupLeftovers(pid: number): void {
  if (isWindows) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // The group is empty.
  }
}

/** Synchronous last resort for process.on('exit'): kill the tree now. */
export function killTreeSync(pid: number): void {
  try {
    if (isWindows) execFileSync('taskkill', ['/PID', String(pid), '/T', '/F'], { windowsHide: true, stdio: 'ignore' });
    else process.kill(-pid, 'SIGKILL');
  } catch {
    try {
      // taskkill failed (or no group): the process itself at least.
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

/**
 * Kill one process that is not our child (`sekisho stop` giving up on a serve): Windows with its
 * tree (`taskkill /T /F`, else the process alone); POSIX the process alone — it is not
 * necessarily a group leader, and its children's parent guard stops them when it is gone.
 */
export function killProcessSync(pid: number): void {
  if (isWindows) {
    killTreeSync(pid);
    return;
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/** Whether a process (not a group) is alive; EPERM means alive but not ours. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether any process of the group (POSIX) or the process (Windows) is still alive. */
export function treeAlive(pid: number): boolean {
  try {
    process.kill(isWindows ? pid : -pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
