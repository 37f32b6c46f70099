// How each table's rule line is shown as grid columns and written back as text. The file
// stays the truth: a row is its raw line; the columns are a view onto it. Editing a column
// rewrites only that row's line, so untouched lines stay byte for byte (SPEC 3).
import type { TableName } from '../api/types.js';

export type LineKind = 'comment' | 'blank' | 'rule';

export interface TableColumns {
  /** i18n keys of the column headers. */
  headers: string[];
  /** Placeholders (examples in the file's own syntax). */
  placeholders: string[];
  split(raw: string): string[];
  compose(fields: string[]): string;
}

/** `'` starts a comment (SPEC 3); a line of only spaces (ASCII or full-width) is blank. */
export function lineKind(raw: string): LineKind {
  if (/^[\s\u3000]*$/.test(raw)) return 'blank';
  if (raw.replace(/^[ \t\u3000]+/, '').startsWith("'")) return 'comment';
  return 'rule';
}

const trimAll = (s: string) => s.replace(/^[\s\u3000]+|[\s\u3000]+$/g, '');

export const TABLE_COLUMNS: Record<TableName, TableColumns> = {
  // `domain, host[, port]` (SPEC 4)
  gateway: {
    headers: ['col.domain', 'col.host', 'col.port'],
    placeholders: ['test.jp', '192.168.0.10', '25'],
    split(raw) {
      const parts = raw.split(',').map(trimAll);
      // Keep anything past the third comma in the port column so validation can point at it.
      return [parts[0] ?? '', parts[1] ?? '', parts.slice(2).join(', ')];
    },
    compose([domain = '', host = '', port = '']) {
      const f = [trimAll(domain), trimAll(host)];
      if (trimAll(port) !== '') f.push(trimAll(port));
      return f.join(', ');
    },
  },
  // `PATTERN [ACTION]` separated by spaces (SPEC 6)
  effect: {
    headers: ['col.pattern', 'col.action'],
    placeholders: ['192.168.0.0/24', 'norelay,2'],
    split(raw) {
      const t = trimAll(raw).split(/[ \t\u3000]+/);
      return [t[0] ?? '', t.slice(1).join(' ')];
    },
    compose([pattern = '', action = '']) {
      return trimAll(action) ? `${trimAll(pattern)} ${trimAll(action)}` : trimAll(pattern);
    },
  },
  // `alias -> target[, target...]` (SPEC 5)
  aliases: {
    headers: ['col.alias', 'col.targets'],
    placeholders: ['sales@test.jp', 'bucho@test.jp, kacho@test.jp'],
    split(raw) {
      const i = raw.indexOf('->');
      if (i < 0) return [trimAll(raw), ''];
      return [trimAll(raw.slice(0, i)), trimAll(raw.slice(i + 2))];
    },
    compose([alias = '', targets = '']) {
      return `${trimAll(alias)} -> ${trimAll(targets)}`;
    },
  },
  // one domain a line
  domains: {
    headers: ['col.domain'],
    placeholders: ['test.jp'],
    split(raw) {
      return [trimAll(raw)];
    },
    compose([domain = '']) {
      return trimAll(domain);
    },
  },
};
