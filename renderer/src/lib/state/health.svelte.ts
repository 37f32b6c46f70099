// The configuration's health as the header and the overview show it (issue 13): errors
// (a file the running services refused — they keep the last good version) apart from
// warnings (saved and in force, but probably not what the admin wants).
import type { Diagnostic } from '../api/types.js';

export interface HealthApi {
  configHealth(): Promise<{ errors: Diagnostic[]; warnings: Diagnostic[] }>;
}

/** `gateway.dat:24:9` — where a diagnostic points (the file alone when it has no line). */
export function location(d: Diagnostic): string {
  return d.line ? `${d.file}:${d.line}${d.column ? `:${d.column}` : ''}` : d.file;
}

/** Split one list by severity (an older server answers only `warnings()` with both kinds). */
export function splitBySeverity(list: Diagnostic[]): { errors: Diagnostic[]; warnings: Diagnostic[] } {
  return { errors: list.filter((d) => d.severity === 'error'), warnings: list.filter((d) => d.severity !== 'error') };
}

export class ConfigHealth {
  errors = $state<Diagnostic[]>([]);
  warnings = $state<Diagnostic[]>([]);
  loaded = $state(false);
  private seq = 0;

  constructor(private readonly api: HealthApi) {}

  /** Files (other than `file`) the services refused; used by a table to say what is in force. */
  errorsOf(file: string): Diagnostic[] {
    return this.errors.filter((d) => d.file === file);
  }

  async refresh(): Promise<void> {
    const seq = ++this.seq;
    const h = await this.api.configHealth();
    if (seq !== this.seq) return; // a newer refresh answered first
    // Errors of the same place reported twice (file + policy checks) are one problem.
    const seen = new Set<string>();
    const uniq = (l: Diagnostic[]) =>
      l.filter((d) => {
        const k = `${d.severity}|${location(d)}|${d.code}|${d.message}`;
        return seen.has(k) ? false : (seen.add(k), true);
      });
    this.errors = uniq(h.errors);
    this.warnings = uniq(h.warnings);
    this.loaded = true;
  }
}
