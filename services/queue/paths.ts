// Where the queue lives inside the work folder (SPEC 2, 8). Kept here, not in config/, so
// the queue can be used by itself (receiver, delivery, control, tests) with a bare workdir.
import { join } from 'node:path';
import type { QueueId } from './types.js';

/** `B` + ten digits (SPEC 8). */
export const QUEUE_ID_RE = /^B\d{10}$/;

export function isQueueId(text: string): text is QueueId {
  return QUEUE_ID_RE.test(text);
}

export function formatQueueId(n: number): QueueId {
  if (!Number.isSafeInteger(n) || n < 1 || n > 9_999_999_999) throw new RangeError(`queue id out of range: ${n}`);
  return 'B' + String(n).padStart(10, '0');
}

/** The number inside an ID, or null when the text is not an ID. */
export function parseQueueId(text: string): number | null {
  return isQueueId(text) ? Number(text.slice(1)) : null;
}

export function incomingDir(workdir: string): string {
  return join(workdir, 'incoming');
}

/** Temporary files of writes in progress; never read by the runner, cleaned by the sweep. */
export function queueTmpDir(workdir: string): string {
  return join(workdir, 'incoming', 'tmp');
}

/** Format 1's message file (format 2 keeps the message in the queue file, controlPath). */
export function messagePath(workdir: string, id: QueueId): string {
  return join(workdir, 'incoming', `${id}.MSG`);
}

/** The file whose presence makes a message queued: format 2's queue file (message + envelope),
 *  format 1's control record. */
export function controlPath(workdir: string, id: QueueId): string {
  return join(workdir, 'incoming', `${id}.$CP`);
}

/** Format 2's delivery state: the record as the last attempt left it (absent before the first). */
export function statePath(workdir: string, id: QueueId): string {
  return join(workdir, 'incoming', `${id}.$ST`);
}

export function lockPath(workdir: string, id: QueueId): string {
  return join(workdir, 'incoming', `${id}.lock`);
}
