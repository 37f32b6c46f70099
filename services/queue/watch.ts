// Telling the delivery runner that a message is ready: fs.watch on incoming/ for queue files
// renamed in (`<ID>.$CP`: new messages) and states rewritten by writeControl (`<ID>.$ST`, or a
// format-1 `.$CP`; e.g. "retry now" from the control app), plus a periodic rescan because fs.watch can miss events (network shares,
// overflowing inotify queues, some Windows setups).
import { watch, type FSWatcher } from 'node:fs';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import type { QueueId } from './types.js';
import { controlPath, incomingDir, isQueueId } from './paths.js';
import { listQueueIds } from './store.js';

export interface QueueWatcher {
  close(): void;
}

export interface WatchQueueOptions {
  /** Rescan period (default 5 s). */
  rescanMs?: number;
  /** Report every message already queued at start (default true). */
  initial?: boolean;
  /** Errors of the watcher or the scan (default: ignored, the next scan retries). */
  onError?: (err: Error) => void;
}

/**
 * Call `onReady(id)` when a queue file appears or a state is rewritten, and for every message found
 * by a rescan that was not there at the previous one. The same ID may be reported more than
 * once: the runner decides (nextAttemptAt, claim) what to do with it.
 */
export function watchQueue(workdir: string, onReady: (id: QueueId) => void, opts: WatchQueueOptions = {}): QueueWatcher {
  const dir = incomingDir(workdir);
  const onError = opts.onError ?? (() => {});
  let known = new Set<QueueId>();
  let closed = false;
  let watcher: FSWatcher | null = null;
  let scanning = false;
  const changed = new Set<QueueId>();
  let checkScheduled = false;

  const report = (id: QueueId) => {
    if (closed) return;
    try {
      onReady(id);
    } catch (err) {
      onError(err as Error);
    }
  };

  // fs.watch says only "something happened to this name": check it exists (a removal is an
  // event too) once per batch of events.
  const checkChanged = async () => {
    checkScheduled = false;
    const ids = [...changed];
    changed.clear();
    for (const id of ids) {
      // existsSync: one stat on the loop thread, cheaper than a thread-pool round trip for
      // every event (a removal after delivery is an event too).
      if (!existsSync(controlPath(workdir, id))) {
        known.delete(id);
        continue;
      }
      known.add(id);
      report(id);
    }
  };

  /** 'all': report everything (start); 'new': what appeared since the last scan; 'none': learn only. */
  const rescan = async (mode: 'all' | 'new' | 'none') => {
    if (scanning || closed) return;
    scanning = true;
    try {
      const ids = await listQueueIds(workdir);
      const now = new Set(ids);
      if (mode !== 'none') for (const id of ids) if (mode === 'all' || !known.has(id)) report(id);
      known = now;
    } catch (err) {
      onError(err as Error);
    } finally {
      scanning = false;
    }
  };

  const startWatch = () => {
    if (closed || watcher) return;
    try {
      watcher = watch(dir, { persistent: false }, (_event, name) => {
        if (!name) {
          void rescan('new');
          return;
        }
        const file = name.toString();
        if (!file.endsWith('.$CP') && !file.endsWith('.$ST')) return;
        const id = file.slice(0, -4);
        if (!isQueueId(id)) return;
        changed.add(id);
        if (!checkScheduled) {
          checkScheduled = true;
          setImmediate(() => void checkChanged());
        }
      });
      watcher.on('error', (err) => {
        onError(err);
        watcher?.close();
        watcher = null; // the rescan keeps working; try to watch again at the next one
      });
    } catch (err) {
      onError(err as Error);
    }
  };

  const timer = setInterval(() => {
    startWatch();
    void rescan('new');
  }, opts.rescanMs ?? 5_000);
  timer.unref?.();

  void mkdir(dir, { recursive: true })
    .catch(() => {})
    .then(() => {
      startWatch();
      return rescan(opts.initial === false ? 'none' : 'all');
    });

  return {
    close() {
      closed = true;
      clearInterval(timer);
      watcher?.close();
      watcher = null;
    },
  };
}
