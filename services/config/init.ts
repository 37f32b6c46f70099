// `sekisho init`: a new work folder with commented defaults (SPEC 2, 6, 9). Only missing
// files are created; an existing file is never overwritten (an admin may run it twice).
import { existsSync } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeLines, NEW_FILE_FORMAT, splitLines } from './codec.js';
import { writeFileAtomic } from './atomic.js';
import { workPaths } from './paths.js';
import { formatSettings } from './settings-file.js';
import { defaultSettings, validateSettings } from './settings.js';
import { TABLE_FILES, type TableName } from './types.js';

export interface InitOverrides {
  ports?: number[];
  controlPort?: number;
  hostname?: string;
  postmaster?: string;
}

export interface InitResult {
  root: string;
  /** Paths relative to the work folder, folders ending in '/'. */
  created: string[];
  /** Files and folders that already existed and were left alone. */
  kept: string[];
}

/** resources/default-workdir, from source (services/config) or from a build (dist/services/config). */
export function templateDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'resources', 'default-workdir');
    if (existsSync(join(candidate, 'effect.dat'))) return candidate;
    dir = dirname(dir);
  }
  throw new Error('cannot find resources/default-workdir (the work folder templates)');
}

/** The template of a table as the bytes Sekisho writes: UTF-8 with CRLF. */
export async function tableTemplate(name: TableName): Promise<Buffer> {
  const text = await readFile(join(templateDir(), TABLE_FILES[name]), 'utf8');
  return encodeLines(splitLines(text).lines, NEW_FILE_FORMAT);
}

export async function initWorkdir(workdir: string, overrides: InitOverrides = {}): Promise<InitResult> {
  const p = workPaths(workdir);
  const settings = defaultSettings();
  if (overrides.ports) settings.receiver.ports = overrides.ports;
  if (overrides.controlPort !== undefined) settings.control.port = overrides.controlPort;
  if (overrides.hostname !== undefined) settings.hostname = overrides.hostname;
  if (overrides.postmaster !== undefined) settings.delivery.postmaster = overrides.postmaster;
  const valid = validateSettings(settings);
  if (!valid.ok) throw new Error(`invalid option: ${valid.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);

  const existing = await stat(p.root).catch(() => null);
  if (existing && !existing.isDirectory()) throw new Error(`${p.root} exists and is not a folder`);

  const result: InitResult = { root: p.root, created: [], kept: [] };
  for (const dir of [p.root, p.inbox, p.incoming, p.logAccept, p.logReceive, p.logSender]) {
    if (dir === p.root) {
      await mkdir(dir, { recursive: true });
      continue;
    }
    const rel = relative(p.root, dir).split('\\').join('/') + '/';
    if (existsSync(dir)) result.kept.push(rel);
    else {
      await mkdir(dir, { recursive: true });
      result.created.push(rel);
    }
  }

  const files: Array<[string, () => Promise<Buffer>]> = [
    [p.settings, async () => Buffer.from(formatSettings(valid.settings), 'utf8')],
    ...(['gateway', 'effect', 'aliases', 'domains'] as const).map((n): [string, () => Promise<Buffer>] => [p[n], () => tableTemplate(n)]),
  ];
  for (const [path, content] of files) {
    const rel = relative(p.root, path);
    if (existsSync(path)) {
      result.kept.push(rel);
      continue;
    }
    await writeFileAtomic(path, await content());
    result.created.push(rel);
  }
  return result;
}
