// `sekisho queue list|show` as a real child process over a real queue folder: messages queued
// by the writer (format 2) next to a folder left by the version before (format 1 fixtures).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../config/run-cli.js';
import { QueueWriter } from '../../../services/queue/writer.js';
import { readControl, writeControl, controlPath } from '../../../services/queue/store.js';
import { claimMessage } from '../../../services/queue/claim.js';
import { copyFormat1Queue } from '../queue/fixtures/format1.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sekisho-cli-queue-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const MESSAGE = 'Received: from pc1 by gw.test.jp (Sekisho) id X\r\nSubject: =?UTF-8?B?5Lya6K2w?=\r\n\r\n本日の会議は 15 時からです。\r\n';

async function queueOne(): Promise<string> {
  const p = await new QueueWriter(dir).begin();
  await p.write(Buffer.from(MESSAGE));
  const now = new Date().toISOString();
  return p.commit({
    from: 'tanaka@test.jp',
    recipients: [
      { address: 'bucho@test.jp', original: 'sales@test.jp', kind: 'remote', status: 'pending', attempts: 0, refusals: 0 },
      { address: 'kakari@test.jp', original: 'sales@test.jp', kind: 'remote', status: 'pending', attempts: 0, refusals: 0 },
    ],
    receivedAt: now,
    nextAttemptAt: now,
    retries: 0,
    client: { ip: '192.168.0.25', helo: 'pc25.test.jp', authUser: 'tanaka' },
    origin: 'message',
  });
}

describe('sekisho queue', () => {
  it('list: one line per message of either format, oldest first, then the count', async () => {
    await copyFormat1Queue(dir);
    const id = await queueOne();
    const claim = (await claimMessage(dir, id))!;
    try {
      const r = await runCli(['queue', 'list', '--workdir', dir]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const lines = r.stdout.trimEnd().split('\n');
      expect(lines).toHaveLength(4);
      expect(lines[0]).toMatch(/^B0000000097  2026-11-2\d \d\d:\d\d:\d\d  298 +<tanaka@test\.jp> +1\/1 sales@example\.jp  next .* retries 1  451 4\.3\.0 Try again later$/);
      expect(lines[1]).toMatch(/^B0000000098 .* <suzuki@test\.jp> +1\/2 b@example\.jp  next .*451 4\.2\.1 Mailbox busy$/);
      expect(lines[2]).toMatch(new RegExp(`^${id} .* ${Buffer.byteLength(MESSAGE)} +<tanaka@test\\.jp> +2/2 bucho@test\\.jp \\+1  being delivered  retries 0$`));
      expect(lines[3]).toBe('3 messages queued');
    } finally {
      await claim.release();
    }
    const json = await runCli(['queue', 'list', '--workdir', dir, '--json']);
    expect(JSON.parse(json.stdout).map((x: { id: string; format: string }) => [x.id, x.format])).toEqual([
      ['B0000000097', 'sekisho-queue/1'],
      ['B0000000098', 'sekisho-queue/1'],
      [id, 'sekisho-queue/2'],
    ]);
  });

  it('list of an empty work folder, and an unreadable queue file reported with exit 1', async () => {
    const empty = await runCli(['queue', 'list', '--workdir', dir]);
    expect(empty).toMatchObject({ code: 0, stdout: '0 messages queued\n' });
    const id = await queueOne();
    await writeFile(controlPath(dir, 'B0000000050'), 'cut short');
    const r = await runCli(['queue', 'list', '--workdir', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^sekisho queue: cannot read B0000000050: .*B0000000050\.\$CP: has no last line/);
    expect(r.stdout).toContain(`${id}  `);
    expect(r.stdout.endsWith('1 message queued, 1 unreadable\n')).toBe(true);
  });

  it('show: the envelope and the latest delivery state, then the message as plain text, never the envelope again', async () => {
    const id = await queueOne();
    const rec = await readControl(dir, id);
    await writeControl(dir, {
      ...rec,
      retries: 1,
      recipients: [
        { ...rec.recipients[0], status: 'delivered', attempts: 1, lastReply: '250 2.0.0 OK', lastHost: '192.168.0.10:25', lastAttemptAt: new Date().toISOString() },
        { ...rec.recipients[1], attempts: 1, lastReply: '451 4.2.1 busy', lastHost: '192.168.0.10:25' },
      ],
    });
    const r = await runCli(['queue', 'show', id, '--workdir', dir]);
    expect(r.code).toBe(0);
    const [head, body] = [r.stdout.slice(0, r.stdout.indexOf('\n\n')), r.stdout.slice(r.stdout.indexOf('\n\n') + 2)];
    expect(head.split('\n')).toEqual([
      `Queue ID:   ${id}`,
      `File:       incoming/${id}.$CP (sekisho-queue/2)`,
      expect.stringMatching(/^Received:   \d{4}-\d\d-\d\d \d\d:\d\d:\d\d from 192\.168\.0\.25 HELO pc25\.test\.jp AUTH tanaka$/),
      'From:       <tanaka@test.jp>',
      `Size:       ${Buffer.byteLength(MESSAGE)} bytes`,
      expect.stringMatching(/^Attempts:   1 so far; next \d{4}-/),
      'Recipients:',
      '  delivered <bucho@test.jp> (RCPT sales@test.jp)  attempts 1',
      expect.stringMatching(/^            last: 250 2\.0\.0 OK \(192\.168\.0\.10:25\) at \d{4}-/),
      '  pending   <kakari@test.jp> (RCPT sales@test.jp)  attempts 1',
      '            last: 451 4.2.1 busy (192.168.0.10:25)',
    ]);
    expect(body).toBe(MESSAGE);

    const raw = await runCli(['queue', 'show', id, '--workdir', dir, '--raw']);
    expect(raw.stdout).toBe(MESSAGE);
  });

  it('show of a format-1 message prints its .MSG; an unknown ID exits 1; a malformed one is a usage error', async () => {
    await copyFormat1Queue(dir);
    const r = await runCli(['queue', 'show', 'B0000000097', '--workdir', dir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('File:       incoming/B0000000097.MSG (sekisho-queue/1)');
    const msg = await readFile(join(dir, 'incoming', 'B0000000097.MSG'), 'utf8');
    expect(r.stdout.endsWith('\n\n' + msg)).toBe(true);

    const gone = await runCli(['queue', 'show', 'B0000000001', '--workdir', dir]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toBe('sekisho queue: B0000000001 is not queued (delivered, removed, or never accepted)\n');
    const bad = await runCli(['queue', 'show', '../etc/passwd', '--workdir', dir]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/queue show needs a queue ID/);
  });
});
