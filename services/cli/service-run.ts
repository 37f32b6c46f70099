// What `sekisho receiver` and `sekisho delivery` share as long-running children of a
// supervisor (SPEC 1, 9): the --debug trace on stdout, one `ready…` line once serving, a clean
// stop on SIGTERM/SIGINT, and an exit that a lingering socket cannot hold up.
import { resolve } from 'node:path';
import { flag, requireOpt, type ParsedArgs } from './args.js';

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
  const service = await start(workdir, debug);
  // A worker of a multi-process receiver tells its primary, which speaks for all of them.
  if (process.env.SEKISHO_RECEIVER_PROCESSES && process.send) process.send({ type: 'ready', line: service.readyLine });
  else process.stdout.write(`${service.readyLine}\n`);
  await new Promise<void>((done) => {
    const stop = () => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      done();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  await service.close();
  // A peer that never closes its half of a socket must not keep a stopped service alive;
  // unref'd, so a clean exit is not delayed.
  setTimeout(() => process.exit(0), 2000).unref();
  return 0;
}
