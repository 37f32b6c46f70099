// Atomic file replacement (SPEC 3 "Writes are atomic"): a reader (the watcher, Notepad, the
// other service) sees either the old file or the new one, never a half. Temp file in the same
// folder (rename is atomic only within one file system), write, fsync, rename, fsync the folder
// so the rename itself survives a power cut.
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

export async function fsyncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch (err) {
    // Windows cannot open or fsync a directory (EPERM / EISDIR); NTFS journals the rename.
    const code = (err as NodeJS.ErrnoException).code;
    if (!(process.platform === 'win32' || code === 'EPERM' || code === 'EISDIR' || code === 'EINVAL')) throw err;
  } finally {
    await fh?.close();
  }
}

export async function writeFileAtomic(path: string, data: Buffer | string): Promise<void> {
  const dir = dirname(path);
  // A dot name keeps the temp file out of the watcher's view and of `*.dat` globs.
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (err) {
    await fh.close();
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await fh.close();
  try {
    await renameRetrying(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await fsyncDir(dir);
}

/**
 * On Windows a rename over a file fails with EPERM/EACCES/EBUSY while another program holds it
 * open without FILE_SHARE_DELETE (an antivirus scan, an editor's lock) — usually for a few
 * milliseconds. Retry briefly there (bounded: ~1 s in all); elsewhere a failure is final.
 */
async function renameRetrying(from: string, to: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await rename(from, to);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const transient = process.platform === 'win32' && (code === 'EPERM' || code === 'EACCES' || code === 'EBUSY');
      if (!transient || attempt >= 10) throw err;
      await new Promise((r) => setTimeout(r, 20 * (attempt + 1)));
    }
  }
}
