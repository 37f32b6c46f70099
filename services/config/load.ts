// The whole work folder as one immutable ConfigSnapshot (ARCHITECTURE: config). Reading and
// parsing are separate steps so the watcher can read twice and compare the bytes before it
// parses (a file still being written is never applied).
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { workPaths } from './paths.js';
import { decodeTable, readOptional, tableErrors, tableRules, TABLE_NAMES } from './tables.js';
import { decodeSettings } from './settings-file.js';
import { settingsFileDiagnostics } from './settings.js';
import { parseAccountFiles, readAccountFiles, type AccountFiles } from './accounts.js';
import type { ConfigSnapshot, Diagnostic, TableName } from './types.js';

/** Every byte the configuration is made of, as read at one moment. */
export interface ConfigFiles {
  /** False when the work folder itself does not exist (an error: most likely a typo). */
  rootExists: boolean;
  settings: Buffer | null;
  tables: Record<TableName, Buffer | null>;
  accounts: AccountFiles[];
}

export interface LoadResult {
  /** Null when any file has an error. */
  snapshot: ConfigSnapshot | null;
  /** Errors and warnings of every file. */
  diagnostics: Diagnostic[];
}

export async function readConfigFiles(workdir: string): Promise<ConfigFiles> {
  const p = workPaths(workdir);
  const tables = {} as Record<TableName, Buffer | null>;
  for (const name of TABLE_NAMES) tables[name] = await readOptional(p[name]);
  const rootExists = await stat(p.root).then((s) => s.isDirectory(), () => false);
  return { rootExists, settings: await readOptional(p.settings), tables, accounts: await readAccountFiles(workdir) };
}

/** A digest of every file's name and bytes: equal digests, equal configuration. */
export function configFingerprint(files: ConfigFiles): string {
  const h = createHash('sha256');
  h.update(files.rootExists ? 'root\0' : 'no-root\0');
  const part = (name: string, b: Buffer | null | boolean) => {
    h.update(`${name}\0`);
    if (b === null || b === false) h.update('-\0');
    else if (b === true) h.update('+\0');
    else h.update(`${b.length}\0`).update(b);
  };
  part('settings', files.settings);
  for (const name of TABLE_NAMES) part(name, files.tables[name]);
  for (const a of files.accounts) {
    part(`inbox/${a.dir}/apop`, a.apop);
    part(`inbox/${a.dir}/offsmtp`, a.offsmtp);
    part(`inbox/${a.dir}/usetime`, a.usetime);
    part(`inbox/${a.dir}/sender`, a.sender);
  }
  return h.digest('hex');
}

const SEVERITY = { error: 0, warning: 1 } as const;

export function parseConfigFiles(workdir: string, files: ConfigFiles, generation = 1): LoadResult {
  const diagnostics: Diagnostic[] = [];
  if (!files.rootExists) {
    const root = workPaths(workdir).root;
    diagnostics.push({ file: root, line: 0, column: 0, severity: 'error', code: 'workdir.missing', message: `the work folder ${root} does not exist (sekisho init creates one)` });
    return { snapshot: null, diagnostics };
  }
  const settingsFile = decodeSettings(files.settings);
  diagnostics.push(...settingsFile.issues);
  // Files settings.json points at (delivery.tlsCaFile): warnings, shown with settings.json's.
  if (settingsFile.settings) diagnostics.push(...settingsFileDiagnostics(workPaths(workdir).root, settingsFile.settings, settingsFile.raw));
  const gateway = decodeTable('gateway', files.tables.gateway);
  const effect = decodeTable('effect', files.tables.effect);
  const aliases = decodeTable('aliases', files.tables.aliases);
  const domains = decodeTable('domains', files.tables.domains);
  diagnostics.push(...tableErrors(gateway), ...tableErrors(effect), ...tableErrors(aliases), ...tableErrors(domains));
  const accounts = parseAccountFiles(files.accounts);
  diagnostics.push(...accounts.diagnostics);
  diagnostics.sort((a, b) => SEVERITY[a.severity] - SEVERITY[b.severity]);

  if (diagnostics.some((d) => d.severity === 'error') || !settingsFile.settings) return { snapshot: null, diagnostics };
  const snapshot: ConfigSnapshot = deepFreeze({
    workdir: workPaths(workdir).root,
    settings: settingsFile.settings,
    gateway: tableRules(gateway),
    effect: tableRules(effect),
    aliases: tableRules(aliases),
    domains: tableRules(domains),
    accounts: accounts.accounts,
    generation,
    loadedAt: new Date(),
  });
  return { snapshot, diagnostics };
}

/** Read and parse the work folder once. A missing table is empty; a missing settings.json is the defaults. */
export async function loadConfig(workdir: string, opts: { generation?: number } = {}): Promise<LoadResult> {
  return parseConfigFiles(workdir, await readConfigFiles(workdir), opts.generation ?? 1);
}

/** Snapshots are shared between modules: freezing makes an accidental mutation throw in tests. */
function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    if (value instanceof Map) {
      for (const v of value.values()) deepFreeze(v);
    } else if (!(value instanceof Date)) {
      Object.freeze(value);
      for (const v of Object.values(value)) deepFreeze(v);
    }
  }
  return value;
}
