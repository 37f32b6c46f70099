// The shapes every other module sees of the work folder (SPEC 2–7). The config layer turns
// files into these; policy, receiver, delivery and control only ever read them.
import type { Settings } from './settings.js';

export type { Settings } from './settings.js';

/** Where a rule came from: `effect.dat:12`. `file` is the file's name inside the work folder. */
export interface SourceRef {
  file: string;
  line: number;
}

export function formatRef(ref: SourceRef): string {
  return `${ref.file}:${ref.line}`;
}

/** A problem in a file. Errors keep the file from being applied; warnings are shown only. */
export interface Diagnostic {
  file: string;
  /** 1-based; 0 when the problem is about the whole file. */
  line: number;
  /** 1-based; 0 when unknown. */
  column: number;
  severity: 'error' | 'warning';
  /** Stable machine code, e.g. `effect.bad-action`, `alias.wildcard`, `effect.dead-after-only`. */
  code: string;
  /** English text; the UI translates by `code` when it can. */
  message: string;
}

export function formatDiagnostic(d: Diagnostic): string {
  const where = d.line ? `${d.file}:${d.line}${d.column ? `:${d.column}` : ''}` : d.file;
  return `${where}: ${d.severity}: ${d.message}`;
}

// ---------------------------------------------------------------------------------------
// Text files as they are on disk (SPEC 3): kept line by line so an edit changes only the
// lines it touches, byte for byte.

export type TextEncoding = 'utf8' | 'utf8bom' | 'cp932';
export type LineEnding = '\r\n' | '\n';

export interface TextFileFormat {
  encoding: TextEncoding;
  eol: LineEnding;
  /** Whether the last line ended with a line break. */
  finalNewline: boolean;
}

/** One line of a table file. `kind` rule lines carry the parsed rule. */
export interface TableLine<R> {
  /** 1-based line number in the file as read. */
  line: number;
  /** The line's text without its line ending. */
  raw: string;
  kind: 'comment' | 'blank' | 'rule' | 'error';
  rule?: R;
  /** Set when kind is 'error': the first error of the line. */
  error?: Diagnostic;
  /** Set when kind is 'error': every error of the line, in column order (`error` is the first). */
  errors?: Diagnostic[];
}

export interface TableDocument<R> {
  file: string;
  format: TextFileFormat;
  lines: TableLine<R>[];
}

// ---------------------------------------------------------------------------------------
// gateway.dat (SPEC 4)

export interface GatewayRule {
  /** Lower-case. `*.example.jp` for subdomains only. */
  domain: string;
  /** FQDN or IP literal (IPv6 without brackets). */
  host: string;
  port: number;
  ref: SourceRef;
}

// ---------------------------------------------------------------------------------------
// effect.dat (SPEC 6)

export type EffectPattern =
  /** `192.168.*.*`: four octets, each a number or '*'. */
  | { kind: 'ipv4-wildcard'; octets: Array<number | '*'> }
  /** A single IPv4/IPv6 address, or a CIDR block (`prefix` = 32 / 128 for one host). */
  | { kind: 'cidr'; family: 4 | 6; address: string; prefix: number }
  /** Client's forward-confirmed reverse-DNS name equal to it or ending in `.domain`. */
  | { kind: 'domain'; domain: string }
  /** Envelope MAIL FROM: `user@abc.co.jp` or `*@abc.co.jp` (local = '*'). */
  | { kind: 'sender'; local: string; domain: string }
  /** `#<>` / `#<`: MAIL FROM:<> */
  | { kind: 'null-sender' }
  /** `#blank`: MAIL FROM: with an empty argument */
  | { kind: 'blank-sender' };

export type EffectAction = 'true' | 'default' | 'false' | 'only' | 'norelay' | 'norelay,2' | 'norelay,0';

export interface EffectRule {
  pattern: EffectPattern;
  /** The pattern as written. */
  patternText: string;
  action: EffectAction;
  /** True when the line had no action (same meaning as `true`). */
  implicitAction: boolean;
  ref: SourceRef;
}

// ---------------------------------------------------------------------------------------
// aliases.dat (SPEC 5)

export interface MailboxPattern {
  /** Lower-cased local part, or '*' for the pass-through wildcard. */
  local: string;
  /** Lower-cased domain. */
  domain: string;
}

export interface AliasRule {
  alias: MailboxPattern;
  targets: MailboxPattern[];
  ref: SourceRef;
}

// ---------------------------------------------------------------------------------------
// domains.dat

export interface LocalDomain {
  domain: string;
  ref: SourceRef;
}

// ---------------------------------------------------------------------------------------
// inbox/<user>/ (SPEC 7)

/** apop.dat: plain (CRAM-MD5 capable) or a salted hash written by the app. */
export type AccountPassword =
  | { kind: 'plain'; value: string }
  /** `$scrypt$<salt base64>$<hash base64>` on disk. */
  | { kind: 'scrypt'; salt: string; hash: string };

/** usetime.dat: one window a line, `HH:MM-HH:MM` optionally preceded by days `mon-fri` or `sat,sun`. */
export interface UsetimeWindow {
  /** 0 = Sunday … 6 = Saturday; all seven when the line names no days. */
  days: number[];
  /** Minutes since midnight, local time; end exclusive; end < start wraps past midnight. */
  start: number;
  end: number;
  ref: SourceRef;
}

/** sender.dat: `PATTERN,CODE` first match; `-1` forbids, `0` allows. */
export interface SenderRule {
  /** `*`, `*@domain.jp`, `user@domain.jp` (lower-cased). */
  pattern: string;
  allow: boolean;
  ref: SourceRef;
}

export interface Account {
  /** Folder name under inbox/, lower-cased. */
  user: string;
  password?: AccountPassword;
  /** `$offsmtp` exists: sending disabled. */
  sendingDisabled: boolean;
  /** Empty = no time limit. */
  usetime: UsetimeWindow[];
  /** Empty = no destination limit. */
  senderRules: SenderRule[];
}

// ---------------------------------------------------------------------------------------
// The whole folder, as one immutable value (ARCHITECTURE: config -> ConfigSnapshot).

export interface ConfigSnapshot {
  workdir: string;
  settings: Settings;
  gateway: GatewayRule[];
  effect: EffectRule[];
  aliases: AliasRule[];
  domains: LocalDomain[];
  /** Keyed by lower-cased user name. */
  accounts: ReadonlyMap<string, Account>;
  /** Increases by one at every applied reload; 1 for the first load. */
  generation: number;
  loadedAt: Date;
}

/** Names of the table files inside the work folder. */
export const TABLE_FILES = {
  settings: 'settings.json',
  gateway: 'gateway.dat',
  effect: 'effect.dat',
  aliases: 'aliases.dat',
  domains: 'domains.dat',
} as const;

export type TableName = 'gateway' | 'effect' | 'aliases' | 'domains';
