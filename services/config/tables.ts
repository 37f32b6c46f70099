// The four table files (SPEC 3–6) as documents: every line kept, in order, comments and
// blanks included, so the editors can show them and write them back byte for byte.
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { decodeText, encodeLines, encodeText, NEW_FILE_FORMAT, splitLines, splitRawLines } from './codec.js';
import { writeFileAtomic } from './atomic.js';
import { workPaths } from './paths.js';
import type { AliasRule, EffectRule, GatewayRule, LocalDomain, TableDocument, TableLine, TableName, TextFileFormat } from './types.js';
import { TABLE_FILES } from './types.js';
import { error, lineKind, trailingCommentColumn } from './tables/common.js';
import type { LineResult } from './tables/line.js';
import type { Diagnostic } from './types.js';
import { parseGatewayLine } from './tables/gateway.js';
import { parseEffectLine } from './tables/effect.js';
import { parseAliasLine } from './tables/aliases.js';
import { parseDomainLine } from './tables/domains.js';

export interface TableRules {
  gateway: GatewayRule;
  effect: EffectRule;
  aliases: AliasRule;
  domains: LocalDomain;
}

export type RuleOf<N extends TableName> = TableRules[N];

const LINE_PARSERS: { [N in TableName]: (raw: string, line: number) => LineResult<TableRules[N]> } = {
  gateway: parseGatewayLine,
  effect: parseEffectLine,
  aliases: parseAliasLine,
  domains: parseDomainLine,
};

export const TABLE_NAMES: readonly TableName[] = ['gateway', 'effect', 'aliases', 'domains'];

/** Parse a table's text (already decoded). The format is that of `text` (UTF-8 assumed). */
export function parseTable<N extends TableName>(name: N, text: string, format?: TextFileFormat): TableDocument<RuleOf<N>> {
  const split = splitLines(text);
  return {
    file: TABLE_FILES[name],
    format: format ?? { encoding: 'utf8', eol: split.eol, finalNewline: split.finalNewline },
    lines: parseLines(name, split.lines),
  };
}

/** Parse lines as the editor holds them (validateTable / saveTable). */
export function parseLines<N extends TableName>(name: N, lines: string[]): TableLine<RuleOf<N>>[] {
  const parse = LINE_PARSERS[name] as (raw: string, line: number) => LineResult<RuleOf<N>>;
  return lines.map((raw, i): TableLine<RuleOf<N>> => {
    const line = i + 1;
    const kind = lineKind(raw);
    if (kind !== 'content') return { line, raw, kind };
    const comment = trailingCommentColumn(raw);
    if (comment) {
      // The rule before the comment is checked too, so every error of the line is shown at once.
      const before = raw.slice(0, comment - 2);
      const errors: Diagnostic[] = lineKind(before) === 'content' ? (parse(before, line).errors ?? []) : [];
      errors.push(
        error(
          TABLE_FILES[name],
          line,
          comment,
          TRAILING_COMMENT[name],
          "comments go on their own line: start a new line with ' (the text after the rule is not part of it)",
        ),
      );
      return { line, raw, kind: 'error', error: errors[0], errors };
    }
    const r = parse(raw, line);
    return r.error ? { line, raw, kind: 'error', error: r.error, errors: r.errors } : { line, raw, kind: 'rule', rule: r.rule };
  });
}

/** The code of a comment after a rule, per table (one code each, translated by the UI). */
const TRAILING_COMMENT: { [N in TableName]: string } = {
  gateway: 'gateway.trailing-comment',
  effect: 'effect.trailing-comment',
  aliases: 'alias.trailing-comment',
  domains: 'domains.trailing-comment',
};

export function tableRules<R>(doc: TableDocument<R>): R[] {
  return doc.lines.flatMap((l) => (l.kind === 'rule' ? [l.rule!] : []));
}

export function tableErrors<R>(doc: TableDocument<R>) {
  return doc.lines.flatMap((l) => l.errors ?? (l.error ? [l.error] : []));
}

/** A short content hash: the `version` the editors pass back to detect edits made elsewhere. */
export function contentVersion(bytes: Buffer | null): string {
  if (bytes === null) return 'absent';
  return createHash('sha256').update(bytes).digest('hex').slice(0, 16);
}

export interface TableFile<R> extends TableDocument<R> {
  /** False when the file does not exist (an empty table, not an error). */
  exists: boolean;
  version: string;
}

export function decodeTable<N extends TableName>(name: N, bytes: Buffer | null): TableFile<RuleOf<N>> {
  if (bytes === null) {
    return { file: TABLE_FILES[name], format: { ...NEW_FILE_FORMAT }, lines: [], exists: false, version: contentVersion(null) };
  }
  const { text, format } = decodeText(bytes);
  return { ...parseTable(name, text, format), exists: true, version: contentVersion(bytes) };
}

export async function readOptional(path: string): Promise<Buffer | null> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

export async function readTableDocument<N extends TableName>(workdir: string, name: N): Promise<TableFile<RuleOf<N>>> {
  return decodeTable(name, await readOptional(workPaths(workdir)[name]));
}

/**
 * Write a table's lines atomically. The existing file's encoding and line ending are kept
 * (or `format` when given); a new file is UTF-8 + CRLF. Lines that are unchanged keep their
 * original bytes exactly (a CP932 byte sequence that does not survive a decode/encode round
 * trip, a stray LF in a CRLF file, a missing final newline), so writing back the lines read
 * reproduces the file byte for byte. Throws when a line cannot be encoded (a character CP932
 * lacks) rather than writing '?'.
 */
export async function writeTableLines(
  workdir: string,
  name: TableName,
  lines: string[],
  format?: TextFileFormat,
): Promise<{ format: TextFileFormat; version: string }> {
  const path = workPaths(workdir)[name];
  const old = await readOptional(path);
  const bytes = old === null ? encodeLines(lines, format ?? NEW_FILE_FORMAT) : reencode(old, lines, format);
  await writeFileAtomic(path, bytes);
  return { format: decodeText(bytes).format, version: contentVersion(bytes) };
}

/** The new file's bytes, reusing the old file's bytes for every line that did not change. */
export function reencode(old: Buffer, lines: string[], format?: TextFileFormat): Buffer {
  const decoded = decodeText(old);
  const oldFormat = decoded.format;
  const target = format ?? oldFormat;
  if (target.encoding !== oldFormat.encoding || target.eol !== oldFormat.eol) return encodeLines(lines, target);
  const finalNewline = format ? format.finalNewline : oldFormat.finalNewline;

  const raw = splitRawLines(old);
  const oldTexts = splitLines(decoded.text).lines;
  if (oldTexts.length !== raw.lines.length) return encodeLines(lines, { ...target, finalNewline });
  const match = matchLines(oldTexts, lines);
  const eol = Buffer.from(target.eol);
  const parts: Buffer[] = [];
  if (target.encoding === 'utf8bom') parts.push(Buffer.from([0xef, 0xbb, 0xbf]));
  lines.forEach((text, i) => {
    const j = match[i];
    if (j < 0 && /[\r\n]/.test(text)) throw new Error(`line ${i + 1} contains a line break`);
    const last = i === lines.length - 1;
    parts.push(j >= 0 ? raw.lines[j].content : encodeText(text, target.encoding));
    if (last && !finalNewline) return;
    parts.push(j >= 0 && raw.lines[j].eol.length ? raw.lines[j].eol : eol);
  });
  return Buffer.concat(parts);
}

/**
 * For each new line, the index of the old line it keeps (or -1): the common head and tail,
 * then, in between, each new line takes the next unused equal old line after the last match.
 */
function matchLines(oldLines: string[], newLines: string[]): number[] {
  const match = new Array<number>(newLines.length).fill(-1);
  let head = 0;
  while (head < oldLines.length && head < newLines.length && oldLines[head] === newLines[head]) {
    match[head] = head;
    head++;
  }
  let tail = 0;
  while (
    tail < oldLines.length - head &&
    tail < newLines.length - head &&
    oldLines[oldLines.length - 1 - tail] === newLines[newLines.length - 1 - tail]
  ) {
    match[newLines.length - 1 - tail] = oldLines.length - 1 - tail;
    tail++;
  }
  const where = new Map<string, number[]>();
  for (let j = head; j < oldLines.length - tail; j++) {
    const list = where.get(oldLines[j]);
    if (list) list.push(j);
    else where.set(oldLines[j], [j]);
  }
  let after = head - 1;
  for (let i = head; i < newLines.length - tail; i++) {
    const list = where.get(newLines[i]);
    if (!list) continue;
    while (list.length && list[0] <= after) list.shift();
    if (list.length) {
      match[i] = list.shift()!;
      after = match[i];
    }
  }
  return match;
}

/** A rule's fields as text, in column order, for the editor grid. */
export function ruleFields<N extends TableName>(name: N, rule: RuleOf<N>): string[] {
  switch (name) {
    case 'gateway': {
      const r = rule as GatewayRule;
      return [r.domain, r.host, String(r.port)];
    }
    case 'effect': {
      const r = rule as EffectRule;
      return [r.patternText, r.implicitAction ? '' : r.action];
    }
    case 'aliases': {
      const r = rule as AliasRule;
      const box = (m: { local: string; domain: string }) => `${m.local}@${m.domain}`;
      return [box(r.alias), r.targets.map(box).join(', ')];
    }
    case 'domains':
      return [(rule as LocalDomain).domain];
  }
  return [];
}
