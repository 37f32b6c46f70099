// `sekisho receiver` with receiver.processes > 1: this process starts that many workers
// (node:cluster) that run the ordinary receiver and share its listening sockets, and speaks
// for them to the supervisor (docs/receiver.md "Processes"):
// - one `ready ports=…` line once every worker serves; a worker that cannot start (port in
//   use, broken configuration) makes the whole receiver exit 1 with its message on stderr;
// - a stop request (the supervisor's `stop` line or stdin EOF through the parent guard, or
//   SIGTERM/SIGINT on POSIX; services/supervisor/stop-request.ts) is passed to every worker as
//   an IPC message `{type: 'stop'}` — not a signal, which on Windows would be a hard kill — and
//   each stops gracefully (lets its messages in DATA finish); a worker still there after the
//   grace period is killed;
// - a worker that dies takes the others down and the receiver exits 1, so the supervisor
//   restarts one consistent receiver (with its backoff) instead of a half-sized one;
// - when this process dies (even SIGKILL) the workers see their channel close and stop the
//   same graceful way, so no orphan keeps the port.
// SCHED_NONE: each worker accepts from the shared socket itself; with Node's default
// round-robin the primary would accept every connection and pass it on (a system call and an
// IPC message per connection).
import cluster, { type Worker } from 'node:cluster';
import { onStopRequest, requestOwnStop } from '../supervisor/stop-request.js';
import { withoutParentGuard } from '../supervisor/parent-guard.js';

const STOP_GRACE_MS = 20_000;

export async function runReceiverPrimary(processes: number): Promise<number> {
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  // The workers write to our stdout/stderr, but stdin is the supervisor's pipe to this
  // process alone: a worker reading it could swallow the `stop` line. Hence no stdin and no
  // parent guard (it reads stdin) for the workers; their lifeline is the IPC channel.
  cluster.setupPrimary({ stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: withoutParentGuard(process.execArgv) });
  const workers: Worker[] = [];
  /** Asked to stop by the supervisor, as opposed to a worker failing. */
  let requested = false;
  let failed = false;
  let readyCount = 0;
  let readyLine = '';

  const alive = () => workers.filter((w) => w.process.exitCode === null && w.process.signalCode === null);
  const stopAll = () => {
    for (const w of alive()) {
      try {
        w.send({ type: 'stop' });
      } catch {
        // Its channel is already closed: it is leaving (and the timer below makes sure).
      }
    }
    setTimeout(() => alive().forEach((w) => w.process.kill('SIGKILL')), STOP_GRACE_MS).unref();
  };

  return new Promise<number>((resolve) => {
    const off = onStopRequest(() => {
      if (requested || failed) return;
      requested = true;
      stopAll();
    });

    for (let i = 0; i < processes; i++) {
      const w = cluster.fork({ SEKISHO_RECEIVER_PROCESSES: String(processes), SEKISHO_RECEIVER_WORKER: String(i + 1) });
      workers.push(w);
      w.on('message', (m: { type?: string; line?: string }) => {
        if (m?.type !== 'ready' || typeof m.line !== 'string') return;
        readyLine ||= m.line;
        if (++readyCount === processes && !requested && !failed) process.stdout.write(`${readyLine} processes=${processes}\n`);
      });
      w.on('exit', (code, signal) => {
        if (!requested && !failed) {
          // A worker gone on its own: a start-up failure (it printed why) or a crash.
          failed = true;
          process.stderr.write(`sekisho receiver: worker ${i + 1} of ${processes} exited (${signal ?? `code ${code}`}); stopping the others\n`);
          stopAll();
        } else if (code !== 0) {
          failed = true;
        }
        if (alive().length === 0) {
          off();
          resolve(failed ? 1 : 0);
        }
      });
    }
  });
}

/**
 * In a worker: stop gracefully when the primary says so, or when it is gone (its IPC channel
 * closed). A worker still starting has nothing in flight and leaves at once.
 */
export function exitWithPrimary(): void {
  process.on('message', (m: { type?: string }) => {
    if (m?.type === 'stop' && !requestOwnStop('stop requested by the receiver primary')) process.exit(0);
  });
  process.on('disconnect', () => {
    if (!requestOwnStop('the receiver primary is gone')) process.exit(1);
  });
}
