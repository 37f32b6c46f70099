// Child: judge one lock file as another account would (the test starts it as `nobody`) and
// print `{ "kill": <kill(pid, 0)'s answer>, "alive": <inspectLock's verdict> }` as one line.
import { readFileSync } from 'node:fs';
import { inspectLock } from '../../../../services/queue/lockfile.js';

const [path] = process.argv.slice(2);
const pid = Number(readFileSync(path, 'utf8').split(' ')[0]);
let kill = 'ok';
try {
  process.kill(pid, 0);
} catch (err) {
  kill = (err as NodeJS.ErrnoException).code ?? 'error';
}
const r = await inspectLock(path);
process.stdout.write(`${JSON.stringify({ kill, alive: r?.alive ?? null })}\n`);
