// `sekisho delivery --workdir DIR [--debug]` (SPEC 9): run the queue runner until asked to stop
// (services/supervisor/stop-request.ts). Prints `ready` on stdout once running, so a supervisor knows the child is up.
import type { ParsedArgs } from '../args.js';
import { runService } from '../service-run.js';
import { startDelivery } from '../../delivery/index.js';

export function run(args: ParsedArgs): Promise<number> {
  return runService(args, async (workdir, debug) => {
    const service = await startDelivery({ workdir, debug });
    // close(): stop taking messages, let in-flight attempts finish (bounded), release claims.
    return { readyLine: 'ready', close: () => service.close() };
  });
}
