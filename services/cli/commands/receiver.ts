// `sekisho receiver --workdir DIR [--debug]` (SPEC 9): run the SMTP receiver until SIGTERM or
// SIGINT. Prints `ready ports=2525,2526` on stdout once every listener is up, so a supervisor
// knows the child serves; a startup problem (port in use, broken configuration) is one line
// on stderr and exit code 1.
import type { ParsedArgs } from '../args.js';
import { runService } from '../service-run.js';
import { startReceiver, ReceiverStartError } from '../../receiver/index.js';

export async function run(args: ParsedArgs): Promise<number> {
  try {
    return await runService(args, async (workdir, debug) => {
      const receiver = await startReceiver({ workdir, debug });
      // close(): stop accepting, let messages in DATA finish (bounded), close the logs.
      return { readyLine: `ready ports=${receiver.ports.join(',')}`, close: () => receiver.close() };
    });
  } catch (err) {
    if (err instanceof ReceiverStartError) {
      process.stderr.write(`sekisho receiver: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}
