// The control secret file (services/control/secret.ts) on a real temp folder.
import { mkdtemp, readdir, stat, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { controlSecretPath, ensureControlSecret, readControlSecret } from '../../../services/control/secret.js';

const posix = process.platform !== 'win32';

describe('control secret', () => {
  it('is created once (64 hex, 0600, no temp file left) and kept across calls', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sekisho-secret-'));
    expect(controlSecretPath(dir)).toBe(join(dir, 'control.secret'));
    expect(readControlSecret(dir)).toBeNull();
    const s = ensureControlSecret(dir);
    expect(s).toMatch(/^[0-9a-f]{64}$/);
    expect(readControlSecret(dir)).toBe(s);
    expect(ensureControlSecret(dir)).toBe(s);
    if (posix) expect((await stat(controlSecretPath(dir))).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['control.secret']);
    // Two folders, two secrets.
    const other = await mkdtemp(join(tmpdir(), 'sekisho-secret-'));
    expect(ensureControlSecret(other)).not.toBe(s);
  });

  it('replaces a file that holds no secret, and tightens a loose mode', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sekisho-secret-'));
    await writeFile(controlSecretPath(dir), 'not a secret\n');
    expect(readControlSecret(dir)).toBeNull();
    const s = ensureControlSecret(dir);
    expect(s).toMatch(/^[0-9a-f]{64}$/);
    if (posix) {
      await chmod(controlSecretPath(dir), 0o644);
      expect(ensureControlSecret(dir)).toBe(s);
      expect((await stat(controlSecretPath(dir))).mode & 0o777).toBe(0o600);
    }
  });
});
