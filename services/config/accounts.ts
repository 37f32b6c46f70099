// Local accounts (SPEC 7): one folder `inbox/<user>/` each, holding apop.dat (the password),
// `$offsmtp` (sending disabled), usetime.dat (sending hours), sender.dat (allowed destinations)
// and the delivered *.MSG files.
import { mkdir, readdir, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes, scrypt as scryptCb, scryptSync, timingSafeEqual, createHash, type ScryptOptions } from 'node:crypto';
import { decodeText, splitLines } from './codec.js';
import { writeFileAtomic } from './atomic.js';
import { ACCOUNT_FILES, workPaths } from './paths.js';
import { readOptional } from './tables.js';
import { checkDomain, checkMailbox, error, lineKind } from './tables/common.js';
import type { Account, AccountPassword, Diagnostic, SenderRule, UsetimeWindow } from './types.js';

export class AccountError extends Error {
  constructor(
    /** `bad-name`, `exists`, `not-found`, `has-mail`, `empty-password`. */
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------
// Names

const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i;

/** Why `user` cannot be an account folder name, or null when it can. */
export function userNameProblem(user: string): string | null {
  if (!user) return 'the user name is empty';
  if (user.length > 64) return 'the user name is longer than 64 characters';
  if (!/^[A-Za-z0-9._-]+$/.test(user)) return `"${user}": a user name has only letters, digits, ".", "_" and "-"`;
  if (user.startsWith('.') || user.endsWith('.')) return `"${user}": a user name does not start or end with "."`;
  if (WINDOWS_RESERVED.test(user)) return `"${user}" is a reserved device name on Windows`;
  return null;
}

function checkUser(user: string): string {
  const why = userNameProblem(user);
  if (why) throw new AccountError('bad-name', why);
  return user.toLowerCase();
}

// ---------------------------------------------------------------------------------------
// Passwords

// N=2^14, r=8, p=1: the Node defaults and the OWASP minimum for scrypt; ~50 ms a check.
const SCRYPT: ScryptOptions = { N: 16384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const HASH_BYTES = 32;

function scryptAsync(password: string, salt: Buffer, len: number): Promise<Buffer> {
  return new Promise((res, rej) => scryptCb(password, salt, len, SCRYPT, (err, key) => (err ? rej(err) : res(key))));
}

/** The apop.dat line for a password: `$scrypt$<salt base64>$<hash base64>`. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scryptAsync(password, salt, HASH_BYTES);
  return `$scrypt$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** The first line of apop.dat as a password, or the reason it is not one. */
export function parsePasswordLine(line: string): AccountPassword | { why: string } {
  if (line === '') return { why: 'apop.dat is empty: write the password on its first line' };
  if (line.startsWith('$scrypt$')) {
    const [, , salt, hash, more] = line.split('$');
    const b64 = /^[A-Za-z0-9+/]+={0,2}$/;
    if (more !== undefined || !salt || !hash || !b64.test(salt) || !b64.test(hash) || Buffer.from(hash, 'base64').length < 16) {
      return { why: 'apop.dat: malformed $scrypt$<salt>$<hash> line' };
    }
    return { kind: 'scrypt', salt, hash };
  }
  return { kind: 'plain', value: line };
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/**
 * Whether `candidate` is the account's password. Timing-safe: a plain password is compared as
 * SHA-256 digests (equal length whatever the input), a hash with timingSafeEqual. Synchronous
 * (scrypt ~50 ms); the receiver can use verifyPasswordAsync to keep the event loop free.
 */
export function verifyPassword(pw: AccountPassword, candidate: string): boolean {
  if (pw.kind === 'plain') return timingSafeEqual(sha256(pw.value), sha256(candidate));
  const expected = Buffer.from(pw.hash, 'base64');
  const derived = scryptSync(candidate, Buffer.from(pw.salt, 'base64'), expected.length, SCRYPT);
  return timingSafeEqual(derived, expected);
}

export async function verifyPasswordAsync(pw: AccountPassword, candidate: string): Promise<boolean> {
  if (pw.kind === 'plain') return verifyPassword(pw, candidate);
  const expected = Buffer.from(pw.hash, 'base64');
  const derived = await scryptAsync(candidate, Buffer.from(pw.salt, 'base64'), expected.length);
  return timingSafeEqual(derived, expected);
}

// ---------------------------------------------------------------------------------------
// usetime.dat

const DAY_NAMES: Record<string, number> = {
  sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6,
  sunday: 0, monday: 1, tuesday: 2, wednesday: 3, thursday: 4, friday: 5, saturday: 6,
  日: 0, 月: 1, 火: 2, 水: 3, 木: 4, 金: 5, 土: 6,
};

function parseDays(text: string): number[] | { why: string } {
  const days = new Set<number>();
  for (const item of text.toLowerCase().split(',')) {
    const [a, b, more] = item.trim().split('-');
    const from = DAY_NAMES[a];
    const to = b === undefined ? from : DAY_NAMES[b];
    if (from === undefined || to === undefined || more !== undefined) {
      return { why: `"${item.trim()}" is not a day or a range of days (sun mon tue wed thu fri sat, e.g. mon-fri or sat,sun)` };
    }
    // `fri-mon` wraps over the weekend.
    for (let d = from, n = 0; n < 7; d = (d + 1) % 7, n++) {
      days.add(d);
      if (d === to) break;
    }
  }
  return [...days].sort((x, y) => x - y);
}

function minutes(t: string): number | null {
  const m = /^(\d{1,2}):(\d{2})$/.exec(t);
  if (!m) return null;
  const h = +m[1];
  const min = +m[2];
  if (min > 59 || h > 24 || (h === 24 && min !== 0)) return null;
  return h * 60 + min;
}

export function parseUsetime(text: string, file: string): { windows: UsetimeWindow[]; diagnostics: Diagnostic[] } {
  const windows: UsetimeWindow[] = [];
  const diagnostics: Diagnostic[] = [];
  splitLines(text).lines.forEach((raw, i) => {
    const line = i + 1;
    if (lineKind(raw) !== 'content') return;
    const m = /^([ \t\u3000]*)(.*?)[ \t\u3000]*(\d{1,2}:\d{2})[ \t\u3000]*-[ \t\u3000]*(\d{1,2}:\d{2})[ \t\u3000]*$/d.exec(raw);
    if (!m) {
      const col = raw.search(/[^ \t\u3000]/) + 1;
      diagnostics.push(error(file, line, col, 'usetime.bad-line', 'a line is "HH:MM-HH:MM", optionally after days: "mon-fri 08:00-18:00"'));
      return;
    }
    const daysCol = m[1].length + 1;
    let days = [0, 1, 2, 3, 4, 5, 6];
    if (m[2] !== '') {
      const d = parseDays(m[2]);
      if (!Array.isArray(d)) return void diagnostics.push(error(file, line, daysCol, 'usetime.bad-days', d.why));
      days = d;
    }
    const timeCol = m.indices![3]![0] + 1;
    const endCol = m.indices![4]![0] + 1;
    const start = minutes(m[3]);
    const end = minutes(m[4]);
    if (start === null || start === 1440) return void diagnostics.push(error(file, line, timeCol, 'usetime.bad-time', `"${m[3]}" is not a time (00:00-23:59)`));
    if (end === null) return void diagnostics.push(error(file, line, endCol, 'usetime.bad-time', `"${m[4]}" is not a time (00:00-24:00)`));
    if (start === end) {
      return void diagnostics.push(error(file, line, timeCol, 'usetime.empty-window', 'start and end are equal: the window would be empty (write 00:00-24:00 for the whole day)'));
    }
    windows.push({ days, start, end, ref: { file, line } });
  });
  return { windows, diagnostics };
}

// ---------------------------------------------------------------------------------------
// sender.dat

export function parseSenderRules(text: string, file: string): { rules: SenderRule[]; diagnostics: Diagnostic[] } {
  const rules: SenderRule[] = [];
  const diagnostics: Diagnostic[] = [];
  splitLines(text).lines.forEach((raw, i) => {
    const line = i + 1;
    if (lineKind(raw) !== 'content') return;
    const comma = raw.lastIndexOf(',');
    const lead = raw.search(/[^ \t\u3000]/);
    if (comma < 0) {
      diagnostics.push(error(file, line, raw.length + 1, 'sender.missing-code', 'a line is "PATTERN,CODE": -1 forbids, 0 allows (e.g. *@example.jp,-1)'));
      return;
    }
    const patText = raw.slice(0, comma).trim();
    const codeText = raw.slice(comma + 1).trim();
    const codeCol = comma + 2 + (raw.slice(comma + 1).length - raw.slice(comma + 1).trimStart().length);
    if (codeText !== '-1' && codeText !== '0') {
      diagnostics.push(error(file, line, codeCol, 'sender.bad-code', `"${codeText}" is not a code: -1 forbids, 0 allows`));
      return;
    }
    let pattern: string;
    if (patText === '*') pattern = '*';
    else if (!patText.includes('@') && !('why' in checkDomain(patText))) {
      // A bare domain means the whole domain, as `*@domain` does.
      pattern = `*@${(checkDomain(patText) as { domain: string }).domain}`;
    } else {
      const m = checkMailbox(patText, lead + 1);
      if ('why' in m) {
        diagnostics.push(error(file, line, m.col, 'sender.bad-pattern', `${m.why} (a pattern is *, *@domain, user@domain or domain)`));
        return;
      }
      pattern = `${m.local}@${m.domain}`;
    }
    rules.push({ pattern, allow: codeText === '0', ref: { file, line } });
  });
  return { rules, diagnostics };
}

// ---------------------------------------------------------------------------------------
// Reading the inbox folder

/** The raw files of one account folder, as read (the watcher compares these across reads). */
export interface AccountFiles {
  /** Folder name as on disk. */
  dir: string;
  apop: Buffer | null;
  offsmtp: boolean;
  usetime: Buffer | null;
  sender: Buffer | null;
}

export async function readAccountFiles(workdir: string): Promise<AccountFiles[]> {
  const inbox = workPaths(workdir).inbox;
  let entries;
  try {
    entries = await readdir(inbox, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: AccountFiles[] = [];
  for (const e of entries.filter((e) => e.isDirectory()).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const dir = join(inbox, e.name);
    out.push({
      dir: e.name,
      apop: await readOptional(join(dir, ACCOUNT_FILES.password)),
      offsmtp: (await readOptional(join(dir, ACCOUNT_FILES.sendingDisabled))) !== null,
      usetime: await readOptional(join(dir, ACCOUNT_FILES.usetime)),
      sender: await readOptional(join(dir, ACCOUNT_FILES.sender)),
    });
  }
  return out;
}

export function parseAccountFiles(files: AccountFiles[]): { accounts: Map<string, Account>; diagnostics: Diagnostic[] } {
  const accounts = new Map<string, Account>();
  const diagnostics: Diagnostic[] = [];
  for (const f of files) {
    const base = `inbox/${f.dir}`;
    const why = userNameProblem(f.dir);
    if (why) {
      // A stray folder must not stop the whole gateway from reloading: warn and skip it.
      diagnostics.push({ file: base, line: 0, column: 0, severity: 'warning', code: 'account.bad-name', message: `not an account folder: ${why}` });
      continue;
    }
    const user = f.dir.toLowerCase();
    if (accounts.has(user)) {
      diagnostics.push(error(base, 0, 0, 'account.duplicate', `two account folders differ only in letter case ("${user}")`));
      continue;
    }
    const account: Account = { user, sendingDisabled: f.offsmtp, usetime: [], senderRules: [] };
    if (f.apop) {
      const first = splitLines(decodeText(f.apop).text).lines[0] ?? '';
      const pw = parsePasswordLine(first);
      if ('why' in pw) diagnostics.push(error(`${base}/${ACCOUNT_FILES.password}`, 1, 1, first === '' ? 'account.empty-password' : 'account.bad-hash', pw.why));
      else account.password = pw;
    }
    if (f.usetime) {
      const r = parseUsetime(decodeText(f.usetime).text, `${base}/${ACCOUNT_FILES.usetime}`);
      account.usetime = r.windows;
      diagnostics.push(...r.diagnostics);
    }
    if (f.sender) {
      const r = parseSenderRules(decodeText(f.sender).text, `${base}/${ACCOUNT_FILES.sender}`);
      account.senderRules = r.rules;
      diagnostics.push(...r.diagnostics);
    }
    accounts.set(user, account);
  }
  return { accounts, diagnostics };
}

export async function readAccounts(workdir: string): Promise<{ accounts: Map<string, Account>; diagnostics: Diagnostic[] }> {
  return parseAccountFiles(await readAccountFiles(workdir));
}

// ---------------------------------------------------------------------------------------
// Changing accounts (the app's "Domains & accounts" tab)

/** The existing folder for `user` (any letter case), or the lower-case one to create. */
async function folderOf(workdir: string, user: string): Promise<{ dir: string; exists: boolean }> {
  const name = checkUser(user);
  const inbox = workPaths(workdir).inbox;
  try {
    for (const e of await readdir(inbox, { withFileTypes: true })) {
      if (e.isDirectory() && e.name.toLowerCase() === name) return { dir: join(inbox, e.name), exists: true };
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return { dir: join(inbox, name), exists: false };
}

export interface PasswordOptions {
  /**
   * Store the password in plain text: needed for CRAM-MD5 (RFC 2195), whose server must know
   * the secret. The default is the scrypt hash (AUTH PLAIN / LOGIN only).
   */
  plain?: boolean;
}

async function writePassword(dir: string, password: string, opts: PasswordOptions): Promise<void> {
  if (password === '') throw new AccountError('empty-password', 'the password is empty');
  if (/[\r\n]/.test(password)) throw new AccountError('bad-password', 'the password must not contain a line break');
  const line = opts.plain ? password : await hashPassword(password);
  await writeFileAtomic(join(dir, ACCOUNT_FILES.password), `${line}\r\n`);
}

export async function createAccount(workdir: string, user: string, password: string, opts: PasswordOptions = {}): Promise<void> {
  const { dir, exists } = await folderOf(workdir, user);
  if (exists && (await readOptional(join(dir, ACCOUNT_FILES.password))) !== null) {
    throw new AccountError('exists', `the account "${user}" already exists`);
  }
  await mkdir(dir, { recursive: true });
  await writePassword(dir, password, opts);
}

export async function setAccountPassword(workdir: string, user: string, password: string, opts: PasswordOptions = {}): Promise<void> {
  const { dir, exists } = await folderOf(workdir, user);
  if (!exists) throw new AccountError('not-found', `no account "${user}"`);
  await writePassword(dir, password, opts);
}

export async function setSendingDisabled(workdir: string, user: string, disabled: boolean): Promise<void> {
  const { dir, exists } = await folderOf(workdir, user);
  if (!exists) throw new AccountError('not-found', `no account "${user}"`);
  const flag = join(dir, ACCOUNT_FILES.sendingDisabled);
  if (disabled) await writeFileAtomic(flag, '');
  else await unlink(flag).catch((err) => {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  });
}

/** Remove `inbox/<user>/`. Refuses while it holds delivered mail (*.MSG) unless `force`. */
export async function deleteAccount(workdir: string, user: string, opts: { force?: boolean } = {}): Promise<void> {
  const { dir, exists } = await folderOf(workdir, user);
  if (!exists) throw new AccountError('not-found', `no account "${user}"`);
  if (!opts.force) {
    const mail = (await readdir(dir)).filter((n) => n.toLowerCase().endsWith('.msg'));
    if (mail.length) {
      throw new AccountError('has-mail', `the account "${user}" holds ${mail.length} delivered message(s); delete them first or force`);
    }
  }
  if (!(await stat(dir)).isDirectory()) throw new AccountError('not-found', `no account "${user}"`);
  await rm(dir, { recursive: true, force: true });
}
