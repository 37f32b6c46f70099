// `sekisho receiver` with receiver.processes > 1: this process starts that many workers
// (node:cluster) that run the ordinary receiver and share its listening sockets, and speaks
// for them to the supervisor (docs/receiver.md "Processes"):
// - one `ready ports=…` line once every worker serves; a worker that cannot start (port in
//   use, broken configuration) makes the whole receiver exit 1 with its message on stderr;
// - SIGTERM/SIGINT stops every worker gracefully (each lets its messages in DATA finish);
// - a worker that dies takes the others down and the receiver exits 1, so the supervisor
//   restarts one consistent receiver (with its backoff) instead of a half-sized one;
// - when this process dies (even SIGKILL) the workers see their channel close and exit, so no
//   orphan keeps the port.
// SCHED_NONE: each worker accepts from the shared socket itself; with Node's default
// round-robin the primary would accept every connection and pass it on (a system call and an
// IPC message per connection).
import cluster, { type Worker } from 'node:cluster';

const STOP_GRACE_MS = 20_000;

export async function runReceiverPrimary(processes: number): Promise<number> {
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  cluster.setupPrimary({ silent: false });
  const workers: Worker[] = [];
  /** Asked to stop by the supervisor (signal), as opposed to a worker failing. */
  let requested = false;
  let failed = false;
  let readyCount = 0;
  let readyLine = '';

  const alive = () => workers.filter((w) => w.process.exitCode === null && w.process.signalCode === null);
  const stopAll = () => {
    for (const w of alive()) w.process.kill('SIGTERM');
    setTimeout(() => alive().forEach((w) => w.process.kill('SIGKILL')), STOP_GRACE_MS).unref();
  };

  return new Promise<number>((resolve) => {
    const stop = () => {
      if (requested || failed) return;
      requested = true;
      stopAll();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);

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
          process.off('SIGTERM', stop);
          process.off('SIGINT', stop);
          resolve(failed ? 1 : 0);
        }
      });
    }
  });
}

/** In a worker: leave at once when the primary is gone (its IPC channel closed). */
export function exitWithPrimary(): void {
  process.on('disconnect', () => process.exit(1));
}
