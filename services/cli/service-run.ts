// What `sekisho receiver` and `sekisho delivery` share as long-running children of a
// supervisor (SPEC 1, 9): the --debug trace on stdout, one `ready…` line once serving, a
// graceful stop on request, and an exit that a lingering socket cannot hold up.
//
// The stop request arrives the same way on every platform (services/supervisor/stop-request.ts):
// a `stop` line on stdin from the supervisor, stdin's end through the parent guard, an IPC
// message from the primary in a multi-process receiver, or SIGTERM/SIGINT on POSIX.
import { resolve } from 'node:path';
import { flag, requireOpt, type ParsedArgs } from './args.js';
import { onStopRequest } from '../supervisor/stop-request.js';

export interface RunningService {
  /** The line the supervisor waits for, e.g. `ready ports=2525` or `ready`. */
  readyLine: string;
  /** Stop taking work and let what is in flight finish (bounded by the service). */
  close(): Promise<void>;
}

export async function runService(
  args: ParsedArgs,
  start: (workdir: string, debug: ((line: string) => void) | undefined) => Promise<RunningService>,
): Promise<number> {
  const workdir = resolve(requireOpt(args, 'workdir'));
  const debug = flag(args, 'debug') ? (line: string) => process.stdout.write(`${line}\n`) : undefined;
  // A supervisor that stopped reading our stdout (EPIPE) must not take the mail service down.
  process.stdout.on('error', () => {});
  const worker = !!(process.env.SEKISHO_RECEIVER_PROCESSES && process.send);
  // Listening from the start. A request that comes while the service is still starting ends
  // the process at once: nothing is in flight yet, and a start that hangs (a stuck network
  // share) must not make the request wait for it. process.exit runs the exit hooks (owner
  // files, logs) that a signal's default action would skip.
  let started = false;
  let why: string | null = null;
  let wake = () => {};
  const off = onStopRequest(
    (w) => {
      if (!started) process.exit(0);
      why = w;
      wake();
    },
    // A worker's stdin is its primary's (or nothing): the primary is told, the worker hears
    // it over IPC (receiver-primary.ts).
    { stdin: !worker },
  );
  const service = await start(workdir, debug);
  started = true;
  // A worker of a multi-process receiver tells its primary, which speaks for all of them.
  if (worker) process.send!({ type: 'ready', line: service.readyLine });
  else process.stdout.write(`${service.readyLine}\n`);
  await new Promise<void>((done) => (wake = done));
  off();
  debug?.(`stopping (${why}): no new work; what is in flight may finish`);
  await service.close();
  // A peer that never closes its half of a socket must not keep a stopped service alive;
  // unref'd, so a clean exit is not delayed. process.exit runs the 'exit' hooks that remove
  // this process's owner files (queue/lockfile.ts) and flush the logs (logs/daily.ts).
  setTimeout(() => process.exit(0), 2000).unref();
  return 0;
}
