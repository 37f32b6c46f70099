// `sekisho receiver --workdir DIR [--debug]` (SPEC 9): run the SMTP receiver until asked to
// stop (services/supervisor/stop-request.ts). Prints `ready ports=2525,2526` on stdout once every listener is up, so a supervisor
// knows the child serves; a startup problem (port in use, broken configuration) is one line
// on stderr and exit code 1. With receiver.processes > 1 the same, for that many processes
// sharing the ports (receiver-primary.ts).
import cluster from 'node:cluster';
import { resolve } from 'node:path';
import { requireOpt, type ParsedArgs } from '../args.js';
import { runService } from '../service-run.js';
import { exitWithPrimary, runReceiverPrimary } from '../receiver-primary.js';
import { readSettingsFile } from '../../config/settings-file.js';

export async function run(args: ParsedArgs): Promise<number> {
  if (!cluster.isPrimary) {
    // A worker of a multi-process receiver: leave with the primary, and exit explicitly when
    // done (the IPC channel to the primary would otherwise keep this process alive).
    exitWithPrimary();
    process.exit(await serve(args));
  }
  // receiver.processes > 1: this process only starts and watches the workers. A broken
  // settings.json is left to serve() below, which reports it as usual.
  const settings = await readSettingsFile(resolve(requireOpt(args, 'workdir'))).then(
    (f) => f.settings,
    () => null,
  );
  const processes = settings?.receiver.processes ?? 1;
  if (processes > 1) return runReceiverPrimary(processes);
  return serve(args);
}

async function serve(args: ParsedArgs): Promise<number> {
  // Loaded here, not at the top: the primary of a multi-process receiver never needs the SMTP
  // stack, and stays a small process (it only forks and watches).
  const { startReceiver, ReceiverStartError } = await import('../../receiver/index.js');
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
