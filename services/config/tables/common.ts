// What the four table parsers share: comment/blank lines (SPEC 3), tokens with their column,
// and the checks for domains, hosts and mailbox local parts.
import { domainToASCII } from 'node:url';
import type { Diagnostic } from '../types.js';

/**
 * Separators: space, tab, and the full-width space (U+3000) that a Japanese IME types so
 * easily and Notepad shows as blank — an admin cannot see the difference, so neither do we.
 */
export const WS = /[ \t\u3000]/;

export type LineKind = 'comment' | 'blank' | 'content';

/** `'` starts a comment line (leading blanks allowed); a line of blanks is blank. */
export function lineKind(raw: string): LineKind {
  const t = raw.replace(/^[ \t\u3000]+/, '');
  if (t === '') return 'blank';
  if (t.startsWith("'")) return 'comment';
  return 'content';
}

export interface Token {
  text: string;
  /** 1-based column of the token's first character. */
  col: number;
}

/** Whitespace-separated tokens with their columns. */
export function tokens(raw: string): Token[] {
  const out: Token[] = [];
  const re = /[^ \t\u3000]+/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(raw))) out.push({ text: m[0], col: m.index + 1 });
  return out;
}

/** Split on `sep`, each field trimmed of blanks, with the 1-based column of its first character. */
export function fields(raw: string, sep: string, startCol = 1): Token[] {
  const out: Token[] = [];
  let offset = 0;
  for (const part of raw.split(sep)) {
    const lead = /^[ \t\u3000]*/.exec(part)![0].length;
    const text = part.replace(/^[ \t\u3000]+|[ \t\u3000]+$/g, '');
    out.push({ text, col: startCol + offset + lead });
    offset += part.length + sep.length;
  }
  return out;
}

/**
 * The column (1-based) of a comment written after a rule (`test.jp, 1.2.3.4 ' office`), or 0.
 * SPEC 3 has comments on their own lines only; a `'` after a blank is read as one, as that is
 * what the administrator meant (an address never has a blank before a quote in our tables).
 */
export function trailingCommentColumn(raw: string): number {
  const m = /[ \t\u3000]'/.exec(raw);
  return m ? m.index + 2 : 0;
}

export function hasSpace(text: string): number {
  const m = WS.exec(text);
  return m ? m.index : -1;
}

export function error(file: string, line: number, column: number, code: string, message: string): Diagnostic {
  return { file, line, column, severity: 'error', code, message };
}

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * A domain name as mail uses it (RFC 5321 4.1.2 Domain): dot-separated labels of letters,
 * digits and hyphens, no leading/trailing hyphen, 253 characters at most. Lower-cased; a
 * trailing root dot is dropped; a Japanese (IDN) name is stored in its ASCII `xn--` form,
 * which is what arrives on the wire without SMTPUTF8.
 * Returns the normalized name, or the reason it is not one.
 */
export function checkDomain(text: string, opts: { wildcard?: boolean; singleLabel?: boolean } = {}): { domain: string } | { why: string } {
  let t = text.toLowerCase();
  let prefix = '';
  if (opts.wildcard && t.startsWith('*.')) {
    prefix = '*.';
    t = t.slice(2);
  }
  if (t.includes('*')) {
    return { why: opts.wildcard ? `"${text}": a wildcard is allowed only as the whole first label, as in *.example.jp` : `"${text}": a wildcard is not allowed here` };
  }
  if (t.endsWith('.') && t.length > 1) t = t.slice(0, -1);
  if (t === '') return { why: 'the domain is empty' };
  if (/[^\x00-\x7f]/.test(t)) {
    const ascii = domainToASCII(t);
    if (!ascii) return { why: `"${text}" is not a valid internationalized domain name` };
    t = ascii;
  }
  if (t.length > 253) return { why: `"${text}" is longer than 253 characters` };
  const labels = t.split('.');
  if (labels.length < 2 && t !== 'localhost' && !opts.singleLabel) {
    return { why: `"${text}" is not a fully qualified domain name (it needs at least one dot)` };
  }
  for (const l of labels) {
    if (l === '') return { why: `"${text}" has an empty label (two dots in a row, or a leading dot)` };
    if (!LABEL.test(l)) {
      if (l.length > 63) return { why: `"${text}": the label "${l}" is longer than 63 characters` };
      if (l.startsWith('-') || l.endsWith('-')) return { why: `"${text}": the label "${l}" starts or ends with a hyphen` };
      const bad = [...l].find((c) => !/[a-z0-9-]/.test(c));
      return { why: `"${text}": the character "${bad}" is not allowed in a domain name` };
    }
  }
  if (/^\d+$/.test(labels[labels.length - 1])) {
    return { why: `"${text}" looks like an IP address but is not a valid one` };
  }
  return { domain: prefix + t };
}

/**
 * A local part as written in our tables: an RFC 5322 3.2.3 dot-atom, without the characters
 * that route mail elsewhere (`%`, `!`, `:`, `@` — the relay-abuse forms of SPEC 6), or `*`.
 */
export function checkLocalPart(text: string): { local: string } | { why: string } {
  if (text === '*') return { local: '*' };
  if (text === '') return { why: 'the local part (before @) is empty' };
  if (text.length > 64) return { why: `the local part "${text}" is longer than 64 characters (RFC 5321 4.5.3.1.1)` };
  if (text.includes('*')) return { why: `"${text}": * is allowed only as the whole local part (*@domain)` };
  const bad = [...text].find((c) => !/[A-Za-z0-9.#$&'+/=?^_`{|}~-]/.test(c));
  if (bad) return { why: `the character "${bad}" is not allowed in the local part "${text}"` };
  if (text.startsWith('.') || text.endsWith('.') || text.includes('..')) {
    return { why: `the local part "${text}" has a misplaced dot` };
  }
  return { local: text.toLowerCase() };
}

/** `local@domain` (or `*@domain`) with the column of the bad part. */
export function checkMailbox(
  text: string,
  col: number,
): { local: string; domain: string } | { why: string; col: number } {
  const at = text.lastIndexOf('@');
  if (at < 0) return { why: `"${text}" is not an address (local@domain)`, col };
  const localText = text.slice(0, at);
  if (localText.includes('@')) return { why: `"${text}" has more than one @`, col };
  const local = checkLocalPart(localText);
  if ('why' in local) return { why: local.why, col };
  const dom = checkDomain(text.slice(at + 1));
  if ('why' in dom) return { why: dom.why, col: col + at + 1 };
  return { local: local.local, domain: dom.domain };
}
