// Child: write messages into the queue. Mode `hang`: begin one message, write some data, say
// `writing <id>` and wait to be killed. Mode `loop`: commit messages one after another until
// killed, printing `committed <id>` after each (every third one past 128 KiB, so it streams;
// every message is `m` bytes only, so a reader can tell a whole one). Mode `step`: commit one
// message, say `committed <id>`, write a second one, say `ready <id> <bytes>`, and commit it
// when a line arrives on stdin (the test holds that commit in its rename).
import { QueueWriter } from '../../../../services/queue/writer.js';

const [workdir, mode] = process.argv.slice(2);
const w = new QueueWriter(workdir);
const record = () => {
  const now = new Date().toISOString();
  return {
    from: 'a@example.jp',
    recipients: [{ address: 'b@example.jp', original: 'b@example.jp', kind: 'remote' as const, status: 'pending' as const, attempts: 0, refusals: 0 }],
    receivedAt: now,
    nextAttemptAt: now,
    retries: 0,
    client: { ip: '192.0.2.9', helo: 'x', authUser: '' },
    origin: 'message' as const,
  };
};

if (mode === 'hang') {
  const p = await w.begin();
  await p.write(Buffer.alloc(200_000, 'x')); // past the writer's 128 KiB: a temp file exists
  process.stdout.write(`writing ${p.id}\n`);
  setInterval(() => {}, 1000);
} else if (mode === 'step') {
  const first = await w.begin();
  await first.write(Buffer.alloc(3000, 'm'));
  await first.commit(record());
  process.stdout.write(`committed ${first.id}\n`);
  const p = await w.begin();
  await p.write(Buffer.alloc(5000, 'm'));
  process.stdout.write(`ready ${p.id} ${p.bytes}\n`);
  process.stdin.once('data', () => {
    void p.commit(record()).then((id) => process.stdout.write(`committed ${id}\n`));
  });
} else {
  for (let i = 0; i < 100_000; i++) {
    const p = await w.begin();
    for (let k = 0; k < 4; k++) await p.write(Buffer.alloc((i % 3 === 2 ? 40_000 : 20_000) + (i % 7) * 1000, 'm'));
    await p.commit(record());
    process.stdout.write(`committed ${p.id}\n`);
  }
}
