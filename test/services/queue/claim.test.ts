import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdir, readFile, writeFile, readdir, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { claimMessage, isClaimed, listClaimed } from '../../../services/queue/claim.js';
import { controlPath, lockPath, messagePath } from '../../../services/queue/paths.js';
import { deadPid, freshWorkdir, removeWorkdir, startChild, stopChild, type Child } from './helpers.js';

let wd: string;
const children: Child[] = [];
beforeEach(async () => {
  wd = await freshWorkdir();
  await mkdir(join(wd, 'incoming'), { recursive: true });
});
afterEach(async () => {
  await Promise.all(children.splice(0).map((c) => stopChild(c)));
  await removeWorkdir(wd);
});

async function queued(id: string): Promise<void> {
  await writeFile(messagePath(wd, id), 'x');
  await writeFile(controlPath(wd, id), '{}');
}

describe('claimMessage', () => {
  it('is exclusive within a process and free again after release', async () => {
    await queued('B0000000001');
    const a = await claimMessage(wd, 'B0000000001');
    expect(a).not.toBeNull();
    expect(await claimMessage(wd, 'B0000000001')).toBeNull();
    expect(await isClaimed(wd, 'B0000000001')).toBe(true);
    expect([...(await listClaimed(wd))]).toEqual(['B0000000001']);
    const lock = await readFile(lockPath(wd, 'B0000000001'), 'utf8');
    expect(lock.split(' ').slice(0, 2)).toEqual([String(process.pid), hostname()]);
    await a!.release();
    await a!.release();
    expect(await isClaimed(wd, 'B0000000001')).toBe(false);
    const b = await claimMessage(wd, 'B0000000001');
    expect(b).not.toBeNull();
    await b!.release();
  });

  it('a claim is a hard link to the process’s owner file: no new inode, the owner’s content', async () => {
    await queued('B0000000021');
    await queued('B0000000022');
    const a = await claimMessage(wd, 'B0000000021');
    const b = await claimMessage(wd, 'B0000000022');
    const owners = (await readdir(join(wd, 'incoming'))).filter((n) => n.startsWith(`.owner.${process.pid}.`));
    expect(owners).toHaveLength(1);
    const owner = await stat(join(wd, 'incoming', owners[0]));
    const la = await stat(lockPath(wd, 'B0000000021'));
    expect(la.ino).toBe(owner.ino);
    expect((await stat(lockPath(wd, 'B0000000022'))).ino).toBe(owner.ino);
    expect(la.nlink).toBe(3);
    const content = await readFile(lockPath(wd, 'B0000000021'), 'utf8');
    expect(content).toMatch(new RegExp(`^${process.pid} ${hostname()} `));
    await a!.release();
    await b!.release();
    expect((await stat(join(wd, 'incoming', owners[0]))).nlink).toBe(1);
  });

  it('claims still work when the owner file was removed under the process', async () => {
    await queued('B0000000023');
    (await claimMessage(wd, 'B0000000023'))!.release();
    for (const n of await readdir(join(wd, 'incoming'))) if (n.startsWith('.owner.')) await unlink(join(wd, 'incoming', n));
    const c = await claimMessage(wd, 'B0000000023');
    expect(c).not.toBeNull();
    expect(await isClaimed(wd, 'B0000000023')).toBe(true);
    await c!.release();
    expect(await isClaimed(wd, 'B0000000023')).toBe(false);
  });

  it('concurrent claims of one message inside one process: exactly one wins', async () => {
    await queued('B0000000011');
    for (let round = 0; round < 5; round++) {
      const claims = await Promise.all(Array.from({ length: 8 }, () => claimMessage(wd, 'B0000000011')));
      expect(claims.filter((c) => c !== null)).toHaveLength(1);
      await Promise.all(claims.map((c) => c?.release()));
    }
  });

  it('does not claim a message that is not (or no longer) queued', async () => {
    expect(await claimMessage(wd, 'B0000000009')).toBeNull();
    // No lock left behind (the owner file the locks link to stays while this process lives).
    expect((await readdir(join(wd, 'incoming'))).filter((n) => !n.startsWith('.owner.'))).toEqual([]);
    expect(await claimMessage(join(wd, 'no-such-workdir'), 'B0000000009')).toBeNull();
  });

  it('is exclusive between two processes; a dead holder’s claim is taken over', async () => {
    await queued('B0000000002');
    const c = startChild('claim', [wd, 'B0000000002']);
    children.push(c);
    await c.waitFor((l) => l === 'ready');
    c.proc.stdin!.write('go\n');
    expect(await c.waitFor((l) => l.endsWith('B0000000002'))).toBe('claimed B0000000002');
    expect(await claimMessage(wd, 'B0000000002')).toBeNull();
    expect(await isClaimed(wd, 'B0000000002')).toBe(true);
    await stopChild(c, 'SIGKILL');
    // The lock file is still there, but its process is dead.
    expect(await readFile(lockPath(wd, 'B0000000002'), 'utf8')).toMatch(new RegExp(`^${c.proc.pid} `));
    expect(await isClaimed(wd, 'B0000000002')).toBe(false);
    expect(await listClaimed(wd)).toEqual(new Set());
    const mine = await claimMessage(wd, 'B0000000002');
    expect(mine).not.toBeNull();
    expect(await readFile(lockPath(wd, 'B0000000002'), 'utf8')).toMatch(new RegExp(`^${process.pid} `));
    await mine!.release();
  });

  it('two processes racing for stale claims never both take one', async () => {
    const ids = Array.from({ length: 40 }, (_, i) => `B${String(100 + i).padStart(10, '0')}`);
    const dead = await deadPid();
    for (const id of ids) {
      await queued(id);
      await writeFile(lockPath(wd, id), `${dead} ${hostname()} 2020-01-01T00:00:00.000Z 00\n`);
    }
    const kids = [startChild('claim', [wd, ...ids]), startChild('claim', [wd, ...[...ids].reverse()])];
    children.push(...kids);
    await Promise.all(kids.map((k) => k.waitFor((l) => l === 'ready')));
    for (const k of kids) k.proc.stdin!.write('go\n');
    await Promise.all(kids.map((k) => k.waitFor((l) => l === 'done', 30_000)));
    const claimedBy = kids.map((k) => new Set(k.lines.filter((l) => l.startsWith('claimed ')).map((l) => l.slice(8))));
    for (const id of ids) {
      // Exactly one of them holds each message.
      expect(Number(claimedBy[0].has(id)) + Number(claimedBy[1].has(id))).toBe(1);
    }
    // And the lock files say so.
    for (const id of ids) {
      const holder = Number((await readFile(lockPath(wd, id), 'utf8')).split(' ')[0]);
      expect(holder).toBe(claimedBy[0].has(id) ? kids[0].proc.pid : kids[1].proc.pid);
    }
  });

  it('a claim left by an earlier process with our own pid (containers) is stale', async () => {
    await queued('B0000000003');
    await writeFile(lockPath(wd, 'B0000000003'), `${process.pid} ${hostname()} 2020-01-01T00:00:00.000Z 00\n`);
    const c = await claimMessage(wd, 'B0000000003');
    expect(c).not.toBeNull();
    await c!.release();
  });
});
