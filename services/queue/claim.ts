// Claims (SPEC 8): two delivery runners — two processes, or two workers of one — never hold
// the same message. A claim is `incoming/<ID>.lock`, created atomically and holding
// `pid hostname time nonce`; a claim whose process is dead is stale and is taken over
// (see lockfile.ts for why two runners cannot both take it over).
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import type { QueueId } from './types.js';
import { controlPath, incomingDir, isQueueId, lockPath } from './paths.js';
import { inspectLock, tryLock } from './lockfile.js';

export interface Claim {
  readonly id: QueueId;
  /** Give the message back (after the attempt, or after removeMessage). Idempotent. */
  release(): Promise<void>;
}

/**
 * Claim a queued message for delivery: null when another live runner holds it, or when the
 * message is no longer queued (delivered and removed by another runner just before).
 */
export async function claimMessage(workdir: string, id: QueueId): Promise<Claim | null> {
  let held;
  try {
    held = await tryLock(lockPath(workdir, id));
  } catch (err) {
    // No queue folder at all: nothing to claim.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  if (!held) return null;
  if (!existsSync(controlPath(workdir, id))) {
    await held.release();
    return null;
  }
  return { id, release: () => held.release() };
}

/** Whether a live runner holds the message (for the queue view: "being delivered"). */
export async function isClaimed(workdir: string, id: QueueId): Promise<boolean> {
  const l = await inspectLock(lockPath(workdir, id));
  return l !== null && l.alive;
}

/** Every message a live runner holds, from one directory listing (the queue view of a big queue). */
export async function listClaimed(workdir: string): Promise<Set<QueueId>> {
  let names: string[];
  try {
    names = await readdir(incomingDir(workdir));
  } catch {
    return new Set();
  }
  const claimed = new Set<QueueId>();
  for (const n of names) {
    if (!n.endsWith('.lock')) continue;
    const id = n.slice(0, -5);
    if (isQueueId(id) && (await isClaimed(workdir, id))) claimed.add(id);
  }
  return claimed;
}
