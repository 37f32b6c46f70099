// `sekisho delivery --workdir DIR [--debug]` (SPEC 9): run the queue runner until SIGTERM or
// SIGINT. Prints `ready` on stdout once running, so a supervisor knows the child is up.
import { resolve } from 'node:path';
import { flag, requireOpt, type ParsedArgs } from '../args.js';
import { startDelivery } from '../../delivery/index.js';

export async function run(args: ParsedArgs): Promise<number> {
  const workdir = resolve(requireOpt(args, 'workdir'));
  const debug = flag(args, 'debug') ? (line: string) => process.stdout.write(`${line}\n`) : undefined;
  const service = await startDelivery({ workdir, debug });
  process.stdout.write('ready\n');
  await new Promise<void>((done) => {
    const stop = () => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      done();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  // Stop taking messages, let in-flight attempts finish (bounded), release the claims.
  await service.close();
  // Whatever a peer still holds open (a socket in its close timeout) must not keep a stopped
  // service alive; unref'd, so it does not delay a clean exit either.
  setTimeout(() => process.exit(0), 2000).unref();
  return 0;
}
