import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../../../services/config/atomic.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sekisho-atomic-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writeFileAtomic', () => {
  it('replaces the file and leaves no temporary file', async () => {
    await writeFile(join(dir, 'a.dat'), 'old');
    await writeFileAtomic(join(dir, 'a.dat'), Buffer.from('new'));
    await writeFileAtomic(join(dir, 'b.dat'), 'text');
    expect(await readFile(join(dir, 'a.dat'), 'utf8')).toBe('new');
    expect(await readFile(join(dir, 'b.dat'), 'utf8')).toBe('text');
    expect((await readdir(dir)).sort()).toEqual(['a.dat', 'b.dat']);
  });

  it('a failed write leaves the old file and no temporary file', async () => {
    await writeFile(join(dir, 'a.dat'), 'old');
    await expect(writeFileAtomic(join(dir, 'missing-folder', 'a.dat'), 'x')).rejects.toThrow();
    // Renaming onto a folder fails after the temporary file was written: it must be cleaned up.
    await mkdir(join(dir, 'sub'));
    await writeFile(join(dir, 'sub', 'keep'), 'x');
    await expect(writeFileAtomic(join(dir, 'sub'), 'x')).rejects.toThrow();
    expect((await readdir(dir)).sort()).toEqual(['a.dat', 'sub']);
    expect(await readFile(join(dir, 'a.dat'), 'utf8')).toBe('old');
  });
});
