// The version shown on the Version tab: package.json of this installation, found by walking
// up from this file (services/control/ from source, dist/services/control/ when built).
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | null = null;

export async function readVersion(): Promise<string> {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'sekisho' && pkg.version) return (cached = pkg.version);
    } catch {
      // Not here; look one folder up.
    }
    dir = dirname(dir);
  }
  return (cached = 'unknown');
}

/** The folder holding this installation's package.json (the repository or the app folder). */
export async function packageRoot(): Promise<string | null> {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'sekisho') return dir;
    } catch {
      // Not here; look one folder up.
    }
    dir = dirname(dir);
  }
  return null;
}
