// settings.json on disk (SPEC 2): read, validate against the schema in settings.ts (unknown
// keys and wrong types are errors naming the key path and, where possible, line:column),
// write atomically.
import { decodeText } from './codec.js';
import { writeFileAtomic } from './atomic.js';
import { workPaths } from './paths.js';
import { contentVersion, readOptional } from './tables.js';
import { defaultSettings, validateSettings, type Settings } from './settings.js';
import { TABLE_FILES, type Diagnostic } from './types.js';
import { locateJsonPaths, position } from './json-locate.js';

const FILE = TABLE_FILES.settings;

export interface SettingsFile {
  /** Null when the file has an error; the defaults when the file does not exist. */
  settings: Settings | null;
  /** Errors (syntax, unknown keys, wrong types), each naming the key path. */
  issues: Diagnostic[];
  /** The file's text ('' when absent). */
  raw: string;
  /** Content hash, `absent` when there is no file. */
  version: string;
  exists: boolean;
}

export async function readSettingsFile(workdir: string): Promise<SettingsFile> {
  return decodeSettings(await readOptional(workPaths(workdir).settings));
}

export function decodeSettings(bytes: Buffer | null): SettingsFile {
  if (bytes === null) return { settings: defaultSettings(), issues: [], raw: '', version: contentVersion(null), exists: false };
  // Notepad may save with a BOM; decodeText strips it.
  const raw = decodeText(bytes).text;
  return { ...parseSettingsText(raw), raw, version: contentVersion(bytes), exists: true };
}

/** Parse and validate settings.json text. Missing keys take their defaults. */
export function parseSettingsText(raw: string): { settings: Settings | null; issues: Diagnostic[] } {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    const msg = (err as Error).message;
    const m = /position (\d+)/.exec(msg);
    const at = m ? position(raw, +m[1]) : position(raw, raw.length);
    return {
      settings: null,
      issues: [
        {
          file: FILE,
          line: at.line,
          column: at.column,
          severity: 'error',
          code: 'settings.syntax',
          message: `not valid JSON: ${msg.replace(/ in JSON at position \d+.*$/, '')}`,
        },
      ],
    };
  }
  const r = validateSettings(value);
  if (r.ok) return { settings: r.settings, issues: [] };
  const where = locateJsonPaths(raw);
  const issues = r.issues.map((i): Diagnostic => {
    const at = where.get(i.path);
    return {
      file: FILE,
      line: at?.line ?? 0,
      column: at?.column ?? 0,
      severity: 'error',
      code: i.message.startsWith('unknown key') ? 'settings.unknown-key' : 'settings.bad-value',
      message: i.path ? `${i.path}: ${i.message}` : i.message,
    };
  });
  return { settings: null, issues };
}

/** The text Sekisho writes: 2-space indent, final newline, line ending of the existing file. */
export function formatSettings(settings: Settings, eol: '\n' | '\r\n' = '\n'): string {
  const text = JSON.stringify(settings, null, 2) + '\n';
  return eol === '\n' ? text : text.replace(/\n/g, '\r\n');
}

/** Validate and write settings.json atomically. Throws with the issues when invalid. */
export async function writeSettingsFile(workdir: string, settings: unknown): Promise<{ version: string }> {
  const r = validateSettings(settings);
  if (!r.ok) {
    throw Object.assign(new Error(`invalid settings: ${r.issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`), {
      issues: r.issues,
    });
  }
  const path = workPaths(workdir).settings;
  const old = await readOptional(path);
  const eol = old && old.includes('\r\n') ? '\r\n' : '\n';
  const bytes = Buffer.from(formatSettings(r.settings, eol), 'utf8');
  await writeFileAtomic(path, bytes);
  return { version: contentVersion(bytes) };
}
