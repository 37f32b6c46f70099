// The short EPERM/EBUSY/EACCES retry of Windows-sensitive renames and unlinks (winfs.ts), and
// that lock files go through it. On Windows (the lane: node.exe under Wine) a real second
// process holds the file open with share mode 0 for a moment, as an antivirus scan does;
// elsewhere the same errors are real and must be thrown at once.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { renameRetrying, unlinkRetrying, unlinkRetryingSync } from '../../../services/queue/winfs.js';
import { tryLock } from '../../../services/queue/lockfile.js';
import { freshWorkdir, removeWorkdir } from './helpers.js';

let wd: string;
beforeEach(async () => {
  wd = await freshWorkdir();
  await mkdir(join(wd, 'incoming'));
});
afterEach(async () => {
  await removeWorkdir(wd);
});

/**
 * A second process that opens `path` with no sharing (libuv's UV_FS_O_EXLOCK), says so, and
 * closes it after `ms`. Resolves once the file is held; `done` when the process has ended.
 */
async function holdExclusively(path: string, ms: number): Promise<{ done: Promise<void> }> {
  const script = `const fs = require('fs'); const fd = fs.openSync(process.argv[1], fs.constants.O_RDWR | 0x10000000);
process.stdout.write('held\\n'); setTimeout(() => fs.closeSync(fd), Number(process.argv[2]));`;
  const p = spawn(process.execPath, ['-e', script, path, String(ms)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  p.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<void>((r) => p.once('exit', () => r()));
  await new Promise<void>((resolve, reject) => {
    p.stdout.on('data', (d: Buffer) => d.toString().includes('held') && resolve());
    void done.then(() => reject(new Error(`holder ended: ${err}`)));
  });
  return { done };
}

describe('winfs retry', () => {
  it('throws at once for an error that is not transient (ENOENT), on every platform', async () => {
    await expect(unlinkRetrying(join(wd, 'nope'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(renameRetrying(join(wd, 'nope'), join(wd, 'x'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(() => unlinkRetryingSync(join(wd, 'nope'))).toThrow(/ENOENT/);
  });

  it.runIf(process.platform === 'win32')('unlink and rename succeed once another process lets go of the file', async () => {
    const a = join(wd, 'a');
    await writeFile(a, 'x');
    const h = await holdExclusively(a, 300);
    await renameRetrying(a, join(wd, 'b'));
    await h.done;
    expect(existsSync(join(wd, 'b'))).toBe(true);
    const h2 = await holdExclusively(join(wd, 'b'), 300);
    await unlinkRetrying(join(wd, 'b'));
    await h2.done;
    expect(existsSync(join(wd, 'b'))).toBe(false);
  });

  it.runIf(process.platform === 'win32')('releasing a lock that a scanner holds open for a moment still removes it', async () => {
    const path = join(wd, 'incoming', 'B0000000001.lock');
    const held = await tryLock(path);
    expect(held).not.toBeNull();
    // 150 ms: within the synchronous retry's budget (~0.3 s) that reading a lock file has.
    const h = await holdExclusively(path, 150);
    await held!.release();
    await h.done;
    expect(existsSync(path)).toBe(false);
    // And it can be taken again.
    const again = await tryLock(path);
    expect(again).not.toBeNull();
    await again!.release();
  });
});
