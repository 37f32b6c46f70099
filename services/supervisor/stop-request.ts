// The child's half of the stop protocol (issue 12), the same on Linux and Windows.
//
// The supervisor asks a child to stop with one line, `stop`, on the child's stdin. Why stdin
// and not a signal or an IPC channel: on Windows, Node turns process.kill(pid, 'SIGTERM') and
// every other signal into an unconditional TerminateProcess — no cleanup, no grace — so a
// signal cannot be the protocol; an IPC channel (fork) exists only between Node processes,
// keeps the child's event loop alive and is already what a multi-process receiver uses to its
// workers. The stdin pipe is there anyway (its EOF is the parent guard, parent-guard.ts), works
// for any supervisor (the Windows service host, a shell script: `echo stop >&…`), and is the
// same bytes on every platform, so the Linux tests test what Windows runs.
//
// Ways in, all ending in the same graceful stop (stop accepting, let DATA and delivery
// attempts in flight finish, flush logs, remove owner files, exit 0):
// - `stop` on stdin (read by the parent guard's preload, or here when there is none);
// - stdin EOF when the parent guard is installed (the supervisor died);
// - the process event STOP_EVENT (the parent guard, a cluster worker told by its primary);
// - SIGTERM / SIGINT, kept as a second way in for POSIX administrators (`kill -TERM`).

/** The line a supervisor writes to a child's stdin to ask for a graceful stop. */
export const STOP_LINE = 'stop';
/** The process event every way in is turned into (emitted by the parent guard's preload). */
export const STOP_EVENT = 'sekisho:stop';
/** Set by the parent guard's preload: it reads stdin already, so this module must not. */
export const GUARD_MARK = Symbol.for('sekisho.parentGuard');

/** Whether text received so far holds a complete `stop` line (CRLF from a Windows host too). */
export function hasStopLine(text: string): boolean {
  return /(?:^|\n)stop\r?\n/.test(text);
}

/**
 * Call `handler` once, on the first stop request by any way in. Returns a function that
 * removes the listeners. `stdin: false` for a process whose stdin is not its supervisor's
 * pipe (a cluster worker inherits its primary's stdin).
 */
export function onStopRequest(handler: (why: string) => void, opts: { stdin?: boolean } = {}): () => void {
  let fired = false;
  const fire = (why: string) => {
    if (fired) return;
    fired = true;
    handler(why);
  };
  const onEvent = (why?: unknown) => fire(typeof why === 'string' ? why : 'stop requested');
  const onTerm = () => fire('SIGTERM');
  const onInt = () => fire('SIGINT');
  process.on(STOP_EVENT, onEvent);
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);

  let offStdin = () => {};
  const guarded = (globalThis as Record<symbol, unknown>)[GUARD_MARK] === true;
  // Not from a terminal: a background job reading its TTY would be stopped by SIGTTIN, and a
  // person at a console has Ctrl+C. EOF is not a stop request here (stdin may be /dev/null);
  // only the parent guard gives EOF that meaning.
  if (opts.stdin !== false && !guarded && !process.stdin.isTTY) {
    let tail = '';
    const onData = (chunk: Buffer | string) => {
      tail = (tail + chunk.toString()).slice(-256);
      if (hasStopLine(tail)) fire('stop requested by the supervisor');
    };
    const onError = () => {};
    process.stdin.on('data', onData);
    process.stdin.on('error', onError);
    process.stdin.resume();
    // Never the reason a process that finished its work stays alive.
    (process.stdin as { unref?: () => void }).unref?.();
    offStdin = () => {
      process.stdin.off('data', onData);
      process.stdin.off('error', onError);
    };
  }
  return () => {
    process.off(STOP_EVENT, onEvent);
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
    offStdin();
  };
}

/** Ask this very process to stop gracefully; false when nothing listens yet (still starting). */
export function requestOwnStop(why: string): boolean {
  // process.emit is typed for Node's own events only; STOP_EVENT is ours.
  return (process.emit as (event: string, ...args: unknown[]) => boolean).call(process, STOP_EVENT, why);
}
