// Warnings the editor can show before the server has answered (and that stay correct if
// it does not send them from validateTable): the dangers SPEC 5 and 6 ask the app to mark.
// Codes are the same as the policy engine's, so a server warning and a local hint for the
// same line are shown once.
import type { Diagnostic, TableName } from '../api/types.js';
import { lineKind, TABLE_COLUMNS } from './table-columns.js';

const FILES: Record<TableName, string> = {
  gateway: 'gateway.dat',
  effect: 'effect.dat',
  aliases: 'aliases.dat',
  domains: 'domains.dat',
};

/** One host: an IPv4/IPv6 address without wildcards, or a /32 / /128 block. */
export function isSingleHost(pattern: string): boolean {
  const [addr, prefix] = pattern.split('/');
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(addr)) return prefix === undefined || prefix === '32';
  if (addr.includes(':') && /^[0-9a-fA-F:.]+$/.test(addr)) return prefix === undefined || prefix === '128';
  return false;
}

function warning(table: TableName, line: number, code: string, message: string): Diagnostic {
  return { file: FILES[table], line, column: 1, severity: 'warning', code, message };
}

export function localHints(table: TableName, lines: string[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  if (table === 'effect') {
    let onlyAt = 0;
    lines.forEach((raw, i) => {
      if (lineKind(raw) !== 'rule') return;
      const n = i + 1;
      if (onlyAt) {
        out.push(warning(table, n, 'effect.dead-after-only', `never used: the "only" rule on line ${onlyAt} ends evaluation`));
        return;
      }
      const [pattern, action] = TABLE_COLUMNS.effect.split(raw);
      const act = action.toLowerCase();
      if ((act === '' || act === 'true') && !isSingleHost(pattern)) {
        out.push(warning(table, n, 'effect.dangerous-true', `"${pattern}" is trusted without condition (may relay anywhere) and is not a single host`));
      }
      if (act === 'only') onlyAt = n;
    });
  }
  if (table === 'aliases') {
    lines.forEach((raw, i) => {
      if (lineKind(raw) !== 'rule') return;
      const [alias] = TABLE_COLUMNS.aliases.split(raw);
      if (alias.startsWith('*@')) {
        out.push(warning(table, i + 1, 'alias.wildcard', `wildcard alias: every address of ${alias.slice(2)} is accepted (mode A)`));
      }
    });
  }
  return out;
}
