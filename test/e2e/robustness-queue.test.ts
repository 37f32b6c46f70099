// A full or broken queue folder must answer 4xx (RFC 5321 4.2.3: 451/452, the client keeps
// the message and retries) and never 250 (SPEC 7: 250 only once durably queued).
//
// Full disk is tested for real: a 1 MB tmpfs mounted over incoming/ (needs root and mount
// privileges; skipped with the reason otherwise). chmod cannot be used: root ignores it.
// The broken folder is incoming/tmp turned into a plain file, so every queue write fails.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmdirSync } from 'node:fs';
import { rm, writeFile, mkdir, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  makeWorkdir,
  startReceiver,
  removeWorkdir,
  queuedRecords,
  SmtpConn,
  makeMessage,
  type Receiver,
} from './robustness-harness.js';

/** Can this process mount a tmpfs? (root in a container without CAP_SYS_ADMIN cannot.) */
function tmpfsReason(): string | null {
  if (process.platform !== 'linux') return 'tmpfs mounts are Linux only';
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root';
  const probe = mkdtempSync(join(tmpdir(), 'sekisho-mount-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'pipe', timeout: 5000 });
    execFileSync('umount', [probe], { stdio: 'pipe', timeout: 5000 });
    return null;
  } catch (err) {
    return `mount -t tmpfs is not permitted here: ${(err as Error).message.split('\n')[0]}`;
  } finally {
    rmdirSync(probe);
  }
}

/** Send one message; returns every reply code from MAIL on (the transaction may stop early). */
async function attempt(port: number, bytes: number): Promise<number[]> {
  const { conn, banner } = await SmtpConn.open(port, '127.0.0.1', 10_000);
  expect(banner.code).toBe(220);
  const codes: number[] = [];
  try {
    expect((await conn.cmd('EHLO q.ext.jp')).code).toBe(250);
    codes.push((await conn.cmd('MAIL FROM:<a@ext.jp>')).code);
    if (codes.at(-1) !== 250) return codes;
    codes.push((await conn.cmd('RCPT TO:<user@test.jp>')).code);
    if (codes.at(-1) !== 250) return codes;
    codes.push((await conn.cmd('DATA')).code);
    if (codes.at(-1) !== 354) return codes;
    await conn.write(makeMessage(bytes));
    codes.push((await conn.cmd('.', 20_000)).code);
    return codes;
  } finally {
    await conn.quit();
  }
}

/** The transaction was refused temporarily: some 4xx, and the message never got its 250. */
function expectTempFailure(codes: number[]): void {
  const last = codes.at(-1)!;
  expect(Math.floor(last / 100), `replies ${codes.join(',')}`).toBe(4);
  // 250s for MAIL/RCPT are fine; a 250 after DATA's 354 would be the lie.
  const i354 = codes.indexOf(354);
  if (i354 >= 0) expect(codes.slice(i354 + 1)).not.toContain(250);
}

const mountReason = tmpfsReason();

describe.skipIf(mountReason !== null)(`full disk under incoming/ ${mountReason ? `(skipped: ${mountReason})` : ''}`, () => {
  let workdir = '';
  let rx: Receiver | undefined;
  let mounted = '';

  beforeAll(async () => {
    ({ workdir } = await makeWorkdir());
    const incoming = join(workdir, 'incoming');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', incoming], { stdio: 'pipe', timeout: 5000 });
    mounted = incoming;
    rx = await startReceiver(workdir);
  });

  afterAll(async () => {
    await rx?.stop();
    if (mounted) execFileSync('umount', ['-l', mounted], { stdio: 'pipe', timeout: 5000 });
    if (workdir) await removeWorkdir(workdir);
  });

  it('a message larger than the free space answers 4xx, never 250, and leaves nothing behind', async () => {
    const codes = await attempt(rx!.ports[0], 2 * 1024 * 1024);
    expectTempFailure(codes);
    expect(await queuedRecords(workdir)).toEqual([]);
    expect(rx!.alive()).toBe(true);
  });

  it('a full disk answers 4xx to a small message; once space is freed the same message is accepted', async () => {
    const filler = join(workdir, 'incoming', 'filler.bin');
    // Fill the tmpfs to the last block (dd stops with ENOSPC, which is the point).
    try {
      execFileSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=4k', 'count=1024'], { stdio: 'pipe', timeout: 10_000 });
    } catch {
      /* ENOSPC expected */
    }
    const codes = await attempt(rx!.ports[0], 2000);
    expectTempFailure(codes);
    expect(await queuedRecords(workdir)).toEqual([]);

    await unlink(filler);
    const again = await attempt(rx!.ports[0], 2000);
    expect(again.at(-1), `replies ${again.join(',')}`).toBe(250);
    expect((await queuedRecords(workdir)).length).toBe(1);
  });
});

describe('broken queue folder', () => {
  let workdir = '';
  let rx: Receiver | undefined;

  beforeAll(async () => {
    ({ workdir } = await makeWorkdir());
    rx = await startReceiver(workdir);
  });

  afterAll(async () => {
    await rx?.stop();
    if (workdir) await removeWorkdir(workdir);
  });

  it('incoming/tmp replaced by a file: 4xx, never 250; repaired, the next message is accepted', async () => {
    const port = rx!.ports[0];
    // Warm-up: the folder works, so the failure below is caused by the breakage.
    expect((await attempt(port, 1000)).at(-1)).toBe(250);
    const tmp = join(workdir, 'incoming', 'tmp');
    await rm(tmp, { recursive: true, force: true });
    await writeFile(tmp, 'not a folder');
    const codes = await attempt(port, 2000);
    expectTempFailure(codes);
    expect((await queuedRecords(workdir)).length).toBe(1);
    expect(rx!.alive()).toBe(true);

    await unlink(tmp);
    await mkdir(tmp);
    expect((await attempt(port, 1000)).at(-1)).toBe(250);
    expect((await queuedRecords(workdir)).length).toBe(2);
  });
});
