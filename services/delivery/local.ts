// Local delivery (SPEC 4, 8): copy the queued message into inbox/<user>/<ID>.MSG. The copy is
// made under a temporary name, flushed and renamed, so a mail client never sees half a file,
// and a crash between the copy and the control-file update does not deliver twice: the
// file's existence is the proof of delivery.
import { copyFile, open, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';

export type LocalResult = 'delivered' | 'already-delivered';

/** `source` holds the message as its first `size` bytes (queue format 2 keeps the envelope after
 *  it: the copy is cut there); without `size`, the whole file. */
export async function deliverLocal(inboxDir: string, user: string, id: string, source: string, size?: number): Promise<LocalResult> {
  if (!/^[^/\\.][^/\\]*$/.test(user)) throw new LocalError(`550 5.1.1 invalid local user "${user}"`, 'fatal');
  const dir = join(inboxDir, user);
  try {
    if (!(await stat(dir)).isDirectory()) throw new Error('not a folder');
  } catch {
    throw new LocalError(`550 5.1.1 mailbox ${user} does not exist`, 'fatal');
  }
  const finalPath = join(dir, `${id}.MSG`);
  if (await exists(finalPath)) return 'already-delivered';
  const tmp = join(dir, `.${id}.${process.pid}.tmp`);
  try {
    await copyFile(source, tmp);
    const fh = await open(tmp, 'r+');
    try {
      // copyFile copies in the kernel (copy_file_range, a reflink where the file system has
      // it); cutting the envelope off afterwards is cheaper than copying through user space.
      if (size !== undefined) await fh.truncate(size);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, finalPath);
    await syncDir(dir);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    if (err instanceof LocalError) throw err;
    throw new LocalError(`451 4.3.0 local delivery to ${user} failed: ${(err as Error).message}`, 'temp');
  }
  return 'delivered';
}

export class LocalError extends Error {
  constructor(
    readonly reply: string,
    readonly kind: 'temp' | 'fatal',
  ) {
    super(reply);
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

/** Make the rename durable (POSIX); Windows cannot open a folder for fsync, and needs not. */
async function syncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } catch {
    /* some file systems refuse; the rename is still atomic */
  } finally {
    await fh.close();
  }
}
