// Child: open an allocator, say `ready`, wait for `go` on stdin (so two children really
// allocate at the same time), allocate N ids, print them as one JSON line, exit.
import { createInterface } from 'node:readline';
import { IdAllocator } from '../../../../services/queue/ids.js';

const [dir, count, block] = process.argv.slice(2);
const a = await IdAllocator.open(dir, { blockSize: Number(block) });
process.stdout.write('ready\n');
const rl = createInterface({ input: process.stdin });
await new Promise<void>((resolve) => rl.once('line', () => resolve()));
rl.close();
const ids: string[] = [];
for (let i = 0; i < Number(count); i++) ids.push(await a.next());
process.stdout.write(JSON.stringify(ids) + '\n');
