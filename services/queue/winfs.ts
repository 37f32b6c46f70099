// Windows refuses to rename over or delete a file that another process has open without
// FILE_SHARE_DELETE (an antivirus scan, a backup agent, the control app reading a control
// record): EPERM / EACCES / EBUSY for a moment. Retry briefly there, as libuv users do;
// elsewhere these errors are real and are thrown at once.
import { renameSync, unlinkSync } from 'node:fs';

const TRANSIENT = new Set(['EPERM', 'EACCES', 'EBUSY']);

async function retrying<T>(op: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await op();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (process.platform !== 'win32' || !TRANSIENT.has(code) || attempt >= 10) throw err;
      await new Promise((r) => setTimeout(r, 10 + attempt * 20)); // ~1 s in all
    }
  }
}

// rename and unlink are metadata operations that take microseconds on a local disk: done on
// the loop thread, they save a thread-pool round trip each (several per message).
export function renameRetrying(from: string, to: string): Promise<void> {
  return retrying(async () => renameSync(from, to));
}

export function unlinkRetrying(path: string): Promise<void> {
  return retrying(async () => unlinkSync(path));
}

/**
 * The same retry for code that must stay synchronous (a process's 'exit' handler removing its
 * owner files; reading a lock file, a few bytes, on the loop thread): the waits block the
 * thread, so they are shorter (~0.3 s in all) and happen only on Windows, only when the file
 * is held.
 */
export function retryingSync<T>(op: () => T): T {
  for (let attempt = 0; ; attempt++) {
    try {
      return op();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (process.platform !== 'win32' || !TRANSIENT.has(code) || attempt >= 6) throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10 + attempt * 10);
    }
  }
}

export function unlinkRetryingSync(path: string): void {
  retryingSync(() => unlinkSync(path));
}
