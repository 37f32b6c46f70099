// `sekisho check --workdir DIR`: validate every file of the work folder (SPEC 9). Prints each
// problem as `file:line:col: error: why` and exits 1 when there is any error, 0 otherwise.
import { requireOpt, type ParsedArgs } from '../args.js';
import { loadConfig } from '../../config/load.js';
import { formatDiagnostic, type ConfigSnapshot, type Diagnostic } from '../../config/types.js';
import { configWarnings } from '../../policy/warnings.js';

export interface CheckReport {
  exitCode: number;
  /** The lines `sekisho check` prints, in order. */
  lines: string[];
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function byPlace(a: Diagnostic, b: Diagnostic): number {
  return a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column;
}

/**
 * Check a work folder. `warnings` adds the policy's config warnings for a loadable snapshot
 * (mode A aliases, dangerous `true`, dead lines after `only`, …); they never change the exit code.
 */
export async function checkWorkdir(
  workdir: string,
  opts: { warnings?: (snapshot: ConfigSnapshot) => Diagnostic[] } = {},
): Promise<CheckReport> {
  const { snapshot, diagnostics } = await loadConfig(workdir);
  const all = [...diagnostics];
  if (snapshot && opts.warnings) all.push(...opts.warnings(snapshot));
  const errors = all.filter((d) => d.severity === 'error').sort(byPlace);
  const warnings = all.filter((d) => d.severity === 'warning').sort(byPlace);
  const lines = [...errors, ...warnings].map(formatDiagnostic);
  if (errors.length || !snapshot) {
    lines.push(`${plural(errors.length, 'error')}, ${plural(warnings.length, 'warning')}: the configuration is not applied until the errors are fixed`);
    return { exitCode: 1, lines };
  }
  lines.push(
    `OK: settings.json, gateway.dat ${plural(snapshot.gateway.length, 'route')}, effect.dat ${plural(snapshot.effect.length, 'rule')}, ` +
      `aliases.dat ${plural(snapshot.aliases.length, 'alias')}`.replace(/aliass$/, 'aliases') +
      `, domains.dat ${plural(snapshot.domains.length, 'domain')}, ${plural(snapshot.accounts.size, 'account')}, ${plural(warnings.length, 'warning')}`,
  );
  return { exitCode: 0, lines };
}

export async function run(args: ParsedArgs): Promise<number> {
  const workdir = requireOpt(args, 'workdir');
  // Warnings (mode A alias, dangerous true, dead lines after only, loops) are printed but
  // never change the exit code: the files are valid, the admin should still look.
  const report = await checkWorkdir(workdir, { warnings: (snap) => configWarnings(snap) });
  for (const line of report.lines) process.stdout.write(`${line}\n`);
  return report.exitCode;
}
