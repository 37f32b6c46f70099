// `sekisho explain` as an admin runs it: the real CLI in a child process, on a work folder
// written here (Shift_JIS + CRLF effect.dat as Notepad leaves it).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import { runCli as sekisho } from '../config/run-cli.js';
import { parseArgs, UsageError } from '../../../services/cli/args.js';
import { run } from '../../../services/cli/commands/explain.js';

let dir: string;
let broken: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sekisho-explain-'));
  await writeFile(join(dir, 'settings.json'), JSON.stringify({ hostname: 'gw.test.jp' }, null, 2));
  await writeFile(join(dir, 'domains.dat'), 'test.jp\r\n');
  await writeFile(join(dir, 'gateway.dat'), "' 社内サーバ\r\ntest.jp, 192.168.0.10, 25\r\n");
  await writeFile(
    join(dir, 'effect.dat'),
    iconv.encode("' 中継ルール\r\n#<> default\r\n#blank false\r\n10.0.0.66 false\r\n192.168.*.* default\r\n", 'cp932'),
  );
  await writeFile(join(dir, 'aliases.dat'), 'b@test.jp -> bucho@test.jp\r\n');
  await mkdir(join(dir, 'inbox', 'bucho'), { recursive: true });
  await writeFile(join(dir, 'inbox', 'bucho', 'apop.dat'), 'secret\r\n');

  broken = await mkdtemp(join(tmpdir(), 'sekisho-explain-broken-'));
  await writeFile(join(broken, 'effect.dat'), '192.168.*.* maybe\r\n');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await rm(broken, { recursive: true, force: true });
});

// Concurrent: each child waits mostly on process start-up.
describe.concurrent('sekisho explain', () => {
  it('prints one line per step with the deciding file:line, exit 0 even when refused', async ({ expect }) => {
    const r = await sekisho(['explain', '--workdir', dir, '--client', '192.168.0.5', '--from', 'a@x.jp', '--to', 'b@test.jp', 'c@ext.jp']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')).toEqual([
      'connect 192.168.0.5: accepted (effect.dat:5 192.168.*.* default)',
      'MAIL FROM:<a@x.jp>: accepted, standing default (effect.dat:5 192.168.*.* default)',
      'RCPT TO:<b@test.jp>: accepted -> alias aliases.dat:1 b@test.jp -> bucho@test.jp; route test.jp -> gateway.dat:2 192.168.0.10:25',
      'RCPT TO:<c@ext.jp>: refused 554 5.7.1 <c@ext.jp>: Relay access denied (relay refused: standing default, not authenticated)',
      '',
    ]);
  });

  it('--auth and the null sender', async ({ expect }) => {
    const r = await sekisho(['explain', '--workdir', dir, '--client', '203.0.113.5', '--auth', 'bucho', '--from', '', '--to', 'c@ext.jp']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('AUTH bucho: as if authenticated\n');
    expect(r.stdout).toContain('MAIL FROM:<>: accepted, standing default (effect.dat:2 #<> default)\n');
    expect(r.stdout).toContain('RCPT TO:<c@ext.jp>: accepted -> relay allowed: standing default, authenticated; route ext.jp -> DNS MX of ext.jp');
  });

  it('exit 1 and the file:line errors when the configuration is broken', async ({ expect }) => {
    const r = await sekisho(['explain', '--workdir', broken, '--client', '192.168.0.5', '--from', 'a@x.jp', '--to', 'b@test.jp']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^effect\.dat:1:\d+: error: /m);
  });

  it('exit 2 on a usage error', async ({ expect }) => {
    const r = await sekisho(['explain', '--workdir', dir, '--client', 'not-an-ip', '--from', 'a@x.jp', '--to', 'b@test.jp']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--client not-an-ip: not an IP address/);
  });
});

// The other usage errors, in-process (each child process costs seconds on a shared machine):
// main.ts turns a UsageError into exit 2, proven by the spawned case above.
describe('explain usage errors', () => {
  it.each([
    [['--client', '192.168.0.5', '--from', 'a@x.jp', '--to', 'b@test.jp'], /missing --workdir/],
    [['--workdir', 'WD', '--from', 'a@x.jp', '--to', 'b@test.jp'], /missing --client/],
    [['--workdir', 'WD', '--client', '192.168.0.5', '--to', 'b@test.jp'], /missing --from/],
    [['--workdir', 'WD', '--client', '192.168.0.5', '--from', 'a@x.jp'], /missing --to/],
    [['--workdir', 'WD', '--client', '192.168.0.5', '--from', 'a@x.jp', '--to', 'b@test.jp', '--at', 'someday'], /--at someday: not a date/],
  ])('%j', async (args, message) => {
    const parsed = parseArgs(['explain', ...args.map((a) => (a === 'WD' ? dir : a))]);
    await expect(run(parsed)).rejects.toThrow(UsageError);
    await expect(run(parsed)).rejects.toThrow(message);
  });
});
