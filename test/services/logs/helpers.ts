import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function freshWorkdir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'sekisho-logs-'));
}

export async function removeWorkdir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
}

/** Poll `cond` until true (bounded). */
export async function until(cond: () => boolean | Promise<boolean>, ms = 10_000, stepMs = 20): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
