// Stop a child and everything it started. A service is spawned as the leader of its own
// process group on POSIX (spawn detached), so one signal to -pid reaches the grandchildren
// too; Windows has no process groups, so `taskkill /T` walks the tree. The supervisor must
// never leave a child running (SPEC 11: "never leaving a service that cannot be stopped").
import { execFile, execFileSync } from 'node:child_process';

const isWindows = process.platform === 'win32';

/** Send a signal to the child's whole process group. False when nothing was there. */
export function signalTree(pid: number, signal: NodeJS.Signals): boolean {
  if (isWindows) {
    // No graceful signal exists for a console process without a window: always force.
    execFile('taskkill', ['/pid', String(pid), '/T', '/F'], { windowsHide: true }, () => {});
    return true;
  }
  try {
    process.kill(-pid, signal);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

/** Synchronous last resort for process.on('exit'): kill the tree now. */
export function killTreeSync(pid: number): void {
  try {
    if (isWindows) execFileSync('taskkill', ['/pid', String(pid), '/T', '/F'], { windowsHide: true, stdio: 'ignore' });
    else process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
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
