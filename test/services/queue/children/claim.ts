// Child: say `ready`, wait for `go` on stdin (so two children really race), claim the given
// ids printing `claimed <id>` or `busy <id>` for each, then `done`, and hold the claims until
// killed or until stdin closes.
import { createInterface } from 'node:readline';
import { claimMessage } from '../../../../services/queue/claim.js';

const [workdir, ...ids] = process.argv.slice(2);
process.stdout.write('ready\n');
const rl = createInterface({ input: process.stdin });
await new Promise<void>((resolve) => rl.once('line', () => resolve()));
for (const id of ids) {
  const c = await claimMessage(workdir, id);
  process.stdout.write(`${c ? 'claimed' : 'busy'} ${id}\n`);
}
process.stdout.write('done\n');
rl.on('close', () => process.exit(0));
