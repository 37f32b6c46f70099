// Durable writes with as few thread-pool round trips as possible. Creating and closing a file
// are quick metadata operations and run on the loop thread; only what waits for the disk (the
// write of an O_DSYNC file, an fdatasync) is handed to libuv's pool, one round trip each.
//
// O_DSYNC (POSIX: every write returns once the data and the metadata needed to read it back are
// on stable storage) makes "write + fdatasync" one system call. Windows has no O_DSYNC in Node
// (fs.constants lists only the basic flags there): it gets write + fdatasync (FlushFileBuffers).
import { constants as fsc, closeSync, fdatasync, fstatSync, ftruncateSync, openSync, writev } from 'node:fs';
import type { SparePool } from './spare.js';

/** O_DSYNC where the platform has it, else 0 (then callers flush with fdatasync). */
export const DSYNC_FLAG: number = process.platform === 'win32' ? 0 : (fsc.O_DSYNC ?? 0);

const CREATE = fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL;

/** open(2) flags for a new file written at once and durable per write, or streamed. */
export const createDurable = {
  dsync: CREATE | DSYNC_FLAG,
  streaming: CREATE,
} as const;

/**
 * Open a recycled file (see spare.ts) to overwrite it with `length` bytes, durable per write like
 * a new one: the old content is first cut down to `length`, so no tail of it can survive the
 * overwrite; the O_DSYNC write then flushes the data and the new size together.
 */
export function openRecycled(path: string, length: number): number {
  const fd = openSync(path, fsc.O_WRONLY | DSYNC_FLAG);
  try {
    if (fstatSync(fd).size > length) ftruncateSync(fd, length);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  return fd;
}

/** Write every buffer, in order, with as few writev calls as the kernel allows. */
export function writeAllAsync(fd: number, bufs: Buffer[]): Promise<void> {
  return new Promise((resolve, reject) => {
    let list = bufs.filter((b) => b.length > 0);
    const step = () => {
      if (list.length === 0) return resolve();
      writev(fd, list, (err, written) => {
        if (err) return reject(err);
        // A short write (a full disk fails with ENOSPC instead, but a signal can cut one short):
        // drop what went out and write the rest.
        let n = written;
        while (list.length && n >= list[0].length) n -= list.shift()!.length;
        if (n > 0) list[0] = list[0].subarray(n);
        step();
      });
    };
    step();
  });
}

export function dataSync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve())));
}

/**
 * Create `path` (it must not exist) holding `data`, on stable storage when the promise
 * resolves: one O_DSYNC write on Linux, write + fdatasync elsewhere. With `spares`, a recycled
 * state file (`c.` spare) is taken for it when there is one. A failure removes nothing: the caller owns
 * the temp name and cleans it up.
 */
export async function writeDurableFile(path: string, data: string | Buffer, spares?: SparePool): Promise<void> {
  const buf = typeof data === 'string' ? Buffer.from(data) : data;
  const fd = spares?.take('c', path) ? openRecycled(path, buf.length) : openSync(path, createDurable.dsync, 0o666);
  try {
    await writeAllAsync(fd, [buf]);
    if (!DSYNC_FLAG) await dataSync(fd);
  } finally {
    closeSync(fd);
  }
}
