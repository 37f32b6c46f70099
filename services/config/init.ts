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

/** The language of the table files' template comments. */
export type TemplateLang = 'ja' | 'en';

export interface InitOverrides {
  /** Default: the system's language (systemLang()). */
  lang?: TemplateLang;
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

/**
 * Japanese or English from a locale name (`ja_JP.UTF-8`, `ja-JP`, `en_US`, `C`): Japanese
 * for `ja…`, English for everything else.
 */
export function langOfLocale(locale: string | undefined | null): TemplateLang {
  return /^ja(?:[-_.@]|$)/i.test(locale ?? '') ? 'ja' : 'en';
}

/**
 * The system's language. POSIX: LC_ALL, then LC_MESSAGES, then LANG (the precedence of
 * setlocale(3) for messages). Windows, or no variable set: the locale Node's ICU reports
 * (Intl), which follows the user's display language.
 */
export function systemLang(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): TemplateLang {
  if (platform !== 'win32') {
    for (const v of [env.LC_ALL, env.LC_MESSAGES, env.LANG]) if (v) return langOfLocale(v);
  }
  return langOfLocale(Intl.DateTimeFormat().resolvedOptions().locale);
}

/**
 * The template of a table as the bytes Sekisho writes: UTF-8 with CRLF. The comments are in
 * `lang` (resources/default-workdir/ for English, its ja/ folder for Japanese); every
 * character is one CP932 has, so an administrator may re-save the file as Shift_JIS.
 */
export async function tableTemplate(name: TableName, lang: TemplateLang = 'en'): Promise<Buffer> {
  const dir = lang === 'ja' ? join(templateDir(), 'ja') : templateDir();
  const text = await readFile(join(dir, TABLE_FILES[name]), 'utf8');
  return encodeLines(splitLines(text).lines, NEW_FILE_FORMAT);
}

export async function initWorkdir(workdir: string, overrides: InitOverrides = {}): Promise<InitResult> {
  const p = workPaths(workdir);
  const settings = defaultSettings();
  if (overrides.ports) settings.receiver.ports = overrides.ports;
  if (overrides.controlPort !== undefined) settings.control.port = overrides.controlPort;
  if (overrides.hostname !== undefined) settings.hostname = overrides.hostname;
  if (overrides.postmaster !== undefined) settings.delivery.postmaster = overrides.postmaster;
  if (overrides.lang !== undefined && overrides.lang !== 'ja' && overrides.lang !== 'en') throw new Error(`invalid option: lang must be ja or en`);
  const lang = overrides.lang ?? systemLang();
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
    ...(['gateway', 'effect', 'aliases', 'domains'] as const).map((n): [string, () => Promise<Buffer>] => [p[n], () => tableTemplate(n, lang)]),
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
