// A child must not outlive its supervisor, even one killed with SIGKILL (OOM killer, a crashed
// Electron main, a test harness timeout): its process.on('exit') never runs, and a detached
// receiver would keep holding port 25, so the next start fails with "port in use".
//
// Each child's stdin is a pipe whose only writer is the supervisor. When the supervisor dies,
// for whatever reason, the OS closes that pipe and the child reads end-of-file. This preload,
// given to the child as `node --import <data: URL>`, turns that EOF into a SIGTERM to itself,
// which the services answer with their graceful stop. The stream is unref'd: it never keeps
// a child alive that would otherwise exit.

const GUARD_SOURCE = [
  "process.stdin.on('end', () => process.kill(process.pid, 'SIGTERM'));",
  "process.stdin.on('error', () => {});",
  'process.stdin.resume();',
  'process.stdin.unref?.();',
].join('');

/** The `--import` value that installs the guard (plain JS, no file to ship). */
export const PARENT_GUARD_IMPORT = `data:text/javascript,${encodeURIComponent(GUARD_SOURCE)}`;

/** Node arguments with the guard in front. */
export function withParentGuard(args: string[]): string[] {
  return ['--import', PARENT_GUARD_IMPORT, ...args];
}
