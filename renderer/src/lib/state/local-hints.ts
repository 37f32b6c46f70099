// Warnings the editor can show before the server has answered (and that stay correct if
// it does not send them from validateTable): the dangers SPEC 5 and 6 ask the app to mark,
// and a trusted host shadowed for its bounces by a `#<>` line above it.
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

const EFFECT_ACTIONS = new Set(['true', 'default', 'false', 'only', 'norelay', 'norelay,2', 'norelay,0']);

/** `#<>` (also `#<`): the null sender of bounces and auto-replies (SPEC 6). */
function isNullSender(pattern: string): boolean {
  const p = pattern.toLowerCase();
  return p === '#<>' || p === '#<';
}

/**
 * A pattern matched against the connecting client (IP, CIDR, IPv4 wildcard, domain), not a
 * sender: what policy/warnings.ts calls a client pattern. Invalid text gets its error from the
 * server; here it only must not be taken for a sender pattern.
 */
function isClientPattern(pattern: string): boolean {
  return pattern !== '' && !pattern.startsWith('#') && !pattern.includes('@');
}

export function localHints(table: TableName, lines: string[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  if (table === 'effect') {
    let onlyAt = 0;
    // The first `#<>` line whose action does not trust: first match decides at MAIL FROM, so
    // the bounces of every trusted host listed below it get that line's standing.
    let nullSender: { line: number; pattern: string; action: string } | null = null;
    let sawNullSender = false;
    lines.forEach((raw, i) => {
      if (lineKind(raw) !== 'rule') return;
      const n = i + 1;
      if (onlyAt) {
        out.push(warning(table, n, 'effect.dead-after-only', `never used: the "only" rule on line ${onlyAt} ends evaluation`));
        return;
      }
      const [pattern, action] = TABLE_COLUMNS.effect.split(raw);
      // `norelay , 2` is the action norelay,2 (as the parser reads it).
      const act = action.toLowerCase().replace(/[ \t\u3000]*,[ \t\u3000]*/g, ',');
      if ((act === '' || act === 'true') && !isSingleHost(pattern)) {
        out.push(warning(table, n, 'effect.dangerous-true', `"${pattern}" is trusted without condition (may relay anywhere) and is not a single host`));
      }
      const trusts = act === '' || act === 'true' || act === 'only';
      // Same lines as policy/warnings.ts marks: every trusting action, `only` included.
      if (trusts && nullSender && isClientPattern(pattern)) {
        const ns = nullSender;
        out.push(
          warning(
            table,
            n,
            'effect.null-sender-first',
            `bounces and auto-replies (MAIL FROM:<>) from ${pattern} match effect.dat:${ns.line} "${ns.pattern} ${ns.action}" first, so they are not trusted and their relay is refused: move this line above it`,
          ),
        );
      }
      // Only the first #<> line decides for the null sender; if it trusts, none below matters.
      if (!sawNullSender && isNullSender(pattern) && EFFECT_ACTIONS.has(act)) {
        sawNullSender = true;
        if (!trusts) nullSender = { line: n, pattern, action: act };
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
