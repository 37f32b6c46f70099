// The control secret: a random token in the work folder that proves "this caller can read the
// work folder" — the administrator's `sekisho stop`, the Windows service's stop command, the
// Electron app attaching to a running serve. It authenticates every /api call (like
// control.password) and is what `shutdown` requires even when control.password is empty: a web
// page in the administrator's browser, or another local user who cannot read the work folder,
// must not be able to stop the mail service.
//
// The file is written once and kept (serve calls ensureControlSecret at every start), so a
// client that read it keeps working across restarts. Mode 0600 on POSIX; on Windows the work
// folder's ACL is what protects it.
import { chmodSync, closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

const SECRET_RE = /^[0-9a-f]{64}$/;

export function controlSecretPath(workdir: string): string {
  return join(workdir, 'control.secret');
}

/** The secret, or null when the file is missing or does not hold one. */
export function readControlSecret(workdir: string): string | null {
  let text: string;
  try {
    text = readFileSync(controlSecretPath(workdir), 'utf8').trim();
  } catch {
    return null;
  }
  return SECRET_RE.test(text) ? text : null;
}

/** The secret of this work folder, created (32 random bytes, hex) when there is none yet. */
export function ensureControlSecret(workdir: string): string {
  const path = controlSecretPath(workdir);
  const existing = readControlSecret(workdir);
  if (existing) {
    // A copy restored from a backup or unpacked from an archive may be world-readable.
    if (process.platform !== 'win32') {
      try {
        chmodSync(path, 0o600);
      } catch {
        // Not ours to change (another owner): it still works, the admin owns the folder.
      }
    }
    return existing;
  }
  const secret = randomBytes(32).toString('hex');
  // Written whole under a temporary name and renamed: a reader never sees half a secret, and
  // the file is 0600 from its first byte (no window in which it is readable by others).
  const tmp = join(workdir, `.control.secret.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, `${secret}\n`);
    fsyncSync(fd);
    closeSync(fd);
  } catch (err) {
    closeSync(fd);
    removeQuietly(tmp);
    throw err;
  }
  try {
    renameSync(tmp, path);
  } catch (err) {
    removeQuietly(tmp);
    throw err;
  }
  return secret;
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Best effort: a leftover dot file is harmless.
  }
}
