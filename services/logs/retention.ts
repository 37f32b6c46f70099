// Retention (SPEC 10, settings logs.retentionDays): a day's file is kept for retentionDays
// full days after that day — with 90, the files of today and the 90 days before it stay; the
// 91st day back is deleted. 0 keeps everything. Only files named YYMMDD.log are touched.
import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { DAY_FILE_RE, LOG_KINDS, logDir, parseDayName } from './paths.js';

export async function pruneOldLogs(workdir: string, retentionDays: number, now: Date = new Date()): Promise<string[]> {
  if (!retentionDays || retentionDays < 0) return [];
  const today = new Date(now.getFullYear(), now.getMonth(), now.getDate());
  // Calendar arithmetic (not ms) so daylight-saving days count as one day.
  const oldestKept = new Date(today.getFullYear(), today.getMonth(), today.getDate() - retentionDays);
  const removed: string[] = [];
  for (const kind of LOG_KINDS) {
    const dir = logDir(workdir, kind);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      const m = DAY_FILE_RE.exec(name);
      const day = m && parseDayName(m[1]);
      if (!day || day >= oldestKept) continue;
      try {
        await unlink(join(dir, name));
        removed.push(join(dir, name));
      } catch {
        // open elsewhere (Windows) or already gone: next run
      }
    }
  }
  return removed;
}
