// `sekisho receiver --workdir DIR [--debug]` (SPEC 9): run the SMTP receiver until SIGTERM or
// SIGINT. Prints `ready ports=2525,2526` on stdout once every listener is up, so a supervisor
// knows the child serves; a startup problem (port in use, broken configuration) is one line
// on stderr and exit code 1.
import { resolve } from 'node:path';
import { flag, requireOpt, type ParsedArgs } from '../args.js';
import { startReceiver, ReceiverStartError } from '../../receiver/index.js';

export async function run(args: ParsedArgs): Promise<number> {
  const workdir = resolve(requireOpt(args, 'workdir'));
  const debug = flag(args, 'debug') ? (line: string) => process.stdout.write(`${line}\n`) : undefined;
  // A supervisor that stopped reading our stdout (EPIPE) must not take the mail service down.
  process.stdout.on('error', () => {});
  let receiver;
  try {
    receiver = await startReceiver({ workdir, debug });
  } catch (err) {
    if (err instanceof ReceiverStartError) {
      process.stderr.write(`sekisho receiver: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  process.stdout.write(`ready ports=${receiver.ports.join(',')}\n`);
  await new Promise<void>((done) => {
    const stop = () => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      done();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  // Stop accepting, let messages in DATA finish (bounded), close the logs.
  await receiver.close();
  // A client that never closes its half of a socket must not keep a stopped service alive;
  // unref'd, so a clean exit is not delayed.
  setTimeout(() => process.exit(0), 2000).unref();
  return 0;
}
