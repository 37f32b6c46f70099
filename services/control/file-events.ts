// What the UI must hear about without asking (SPEC 11): a table or settings.json changed on
// disk (from the app, from Notepad: the editor then offers to reload), the account folders
// changed, the queue changed, and new log lines for the live tail.
//
// The table files are polled (stat every second, hash only when size or mtime moved): five
// stats a second cost nothing and work on every file system, where fs.watch does not
// (network shares, some editors' replace-by-rename). The queue folder is watched with
// fs.watch plus a slow rescan as a fallback.
import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import type { ControlApi, ControlEvent, LogKind, TableName } from './api.js';
import { readSettingsFile } from '../config/settings-file.js';
import { workPaths } from '../config/paths.js';
import { tailLog, type LogTail } from '../logs/read.js';

export interface WorkFolderEventsOptions {
  /** Poll period of the config files (default 1000 ms). */
  pollMs?: number;
  /** Quiet time before a `queue` event (default 300 ms): one event for a burst of files. */
  queueDebounceMs?: number;
  /** Follow the logs (default true). */
  logs?: boolean;
  /**
   * Watch the queue and tail the logs from the start (default true). `sekisho serve` starts
   * with false and follows only while a UI is connected (follow()): at several hundred
   * messages a second those watchers cost more CPU than the whole control server otherwise.
   */
  follow?: boolean;
}

export interface WorkFolderEvents {
  /** Start or stop the queue and log events (the config events always run). */
  follow(on: boolean): void;
  close(): void;
}

const TABLES: TableName[] = ['gateway', 'effect', 'aliases', 'domains'];
const LOG_KINDS: LogKind[] = ['accept', 'receive', 'sender'];

/** Publish `config`, `queue` and `log` events for a work folder until close(). */
export function watchWorkFolder(
  workdir: string,
  api: Pick<ControlApi, 'readTable'>,
  publish: (e: ControlEvent) => void,
  opts: WorkFolderEventsOptions = {},
): WorkFolderEvents {
  const paths = workPaths(workdir);
  const pollMs = opts.pollMs ?? 1000;
  let closed = false;

  // --- config files: settings.json, the four tables, the inbox folder (accounts)
  const stamps = new Map<string, string>();
  const versions = new Map<string, string>();
  const stampOf = async (path: string) => {
    try {
      const s = await stat(path);
      return `${s.size}:${s.mtimeMs}:${s.ino}`;
    } catch {
      return 'absent';
    }
  };
  const inboxStamp = async () => {
    try {
      const names = (await readdir(paths.inbox)).sort();
      // A folder per account: adding/removing one, or the files in it, changes these mtimes.
      const inner = await Promise.all(names.map(async (n) => `${n}=${await stampOf(`${paths.inbox}/${n}`)}`));
      return inner.join('|');
    } catch {
      return 'absent';
    }
  };

  const checkConfig = async (first: boolean) => {
    for (const table of TABLES) {
      const stamp = await stampOf(paths[table]);
      if (stamps.get(table) === stamp) continue;
      stamps.set(table, stamp);
      const view = await api.readTable(table);
      if (versions.get(table) === view.version) continue;
      versions.set(table, view.version);
      if (!first) publish({ type: 'config', table, version: view.version, diagnostics: view.diagnostics });
    }
    const sStamp = await stampOf(paths.settings);
    if (stamps.get('settings') !== sStamp) {
      stamps.set('settings', sStamp);
      const f = await readSettingsFile(workdir);
      if (versions.get('settings') !== f.version) {
        versions.set('settings', f.version);
        if (!first) publish({ type: 'config', table: 'settings', version: f.version, diagnostics: f.issues });
      }
    }
    const aStamp = await inboxStamp();
    if (stamps.get('accounts') !== aStamp) {
      stamps.set('accounts', aStamp);
      if (!first) publish({ type: 'config', table: 'accounts', version: createHash('sha256').update(aStamp).digest('hex').slice(0, 16), diagnostics: [] });
    }
  };

  let polling = false;
  const poll = async (first = false) => {
    if (polling || closed) return;
    polling = true;
    try {
      await checkConfig(first);
      attachQueueWatch();
    } catch {
      // A file vanishing between stat and read: the next poll sees the new state.
    } finally {
      polling = false;
    }
  };
  void poll(true);
  const pollTimer = setInterval(() => void poll(), pollMs);

  // --- the queue
  let queueTimer: NodeJS.Timeout | null = null;
  const queueChanged = () => {
    if (closed || queueTimer) return;
    queueTimer = setTimeout(() => {
      queueTimer = null;
      if (!closed) publish({ type: 'queue' });
    }, opts.queueDebounceMs ?? 300);
  };
  let queueWatcher: FSWatcher | null = null;
  let following = opts.follow ?? true;
  function attachQueueWatch() {
    if (queueWatcher || closed || !following) return;
    try {
      queueWatcher = watch(paths.incoming, (_event, name) => {
        // Claims (.lock) and temp files come and go during every attempt; the queue file
        // ($CP) and the delivery state ($ST; format 1: .MSG) changing is what the queue view shows.
        if (!name || name.endsWith('.$CP') || name.endsWith('.$ST') || name.endsWith('.MSG')) queueChanged();
      });
      queueWatcher.on('error', () => {
        queueWatcher?.close();
        queueWatcher = null;
      });
    } catch {
      // No incoming/ yet (nothing was ever received): try again at the next poll.
    }
  }
  // fs.watch can miss events (network share): a slow rescan catches up.
  const queueRescan = setInterval(() => following && queueChanged(), 15_000);

  // --- the logs
  let tails: LogTail[] = [];
  const startTails = () => {
    if (opts.logs === false || tails.length || closed) return;
    tails = LOG_KINDS.map((kind) => tailLog(workdir, kind, (line) => publish({ type: 'log', kind, line }), { onError: () => {} }));
  };
  const stopTails = () => {
    for (const t of tails) t.close();
    tails = [];
  };
  if (following) startTails();

  return {
    follow(on: boolean) {
      if (closed || on === following) return;
      following = on;
      if (on) {
        attachQueueWatch();
        startTails();
        queueChanged(); // what happened while nobody followed
      } else {
        queueWatcher?.close();
        queueWatcher = null;
        if (queueTimer) clearTimeout(queueTimer);
        queueTimer = null;
        stopTails();
      }
    },
    close() {
      closed = true;
      clearInterval(pollTimer);
      clearInterval(queueRescan);
      if (queueTimer) clearTimeout(queueTimer);
      queueWatcher?.close();
      stopTails();
    },
  };
}
