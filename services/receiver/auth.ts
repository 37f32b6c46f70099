// SMTP AUTH against the accounts of the work folder (SPEC 7: inbox/<user>/apop.dat).
import type { ConfigSnapshot } from '../config/types.js';
import { verifyPasswordAsync } from '../config/accounts.js';

export type AuthMethod = 'PLAIN' | 'LOGIN' | 'CRAM-MD5';

export interface AuthAttempt {
  method: string;
  username: string;
  /** PLAIN / LOGIN. */
  password?: string;
  /** CRAM-MD5 (RFC 2195): checks the HMAC of the challenge against a candidate password. */
  validatePassword?: (password: string) => boolean;
}

export interface AuthResult {
  ok: boolean;
  /** The account name (lower-case) when ok. */
  user: string;
  /** For the debug trace; never contains the password. */
  note: string;
}

/**
 * The account a login names: the folder name, lower-cased; `user@domain` is the account
 * `user` when the domain is one of ours (mail clients often send the whole address).
 */
export function accountName(snap: ConfigSnapshot, username: string): string {
  const name = username.trim().toLowerCase();
  const at = name.lastIndexOf('@');
  if (at > 0) {
    const domain = name.slice(at + 1).replace(/\.$/, '');
    if (snap.domains.some((d) => d.domain.toLowerCase() === domain)) return name.slice(0, at);
  }
  return name;
}

export async function checkLogin(snap: ConfigSnapshot, attempt: AuthAttempt): Promise<AuthResult> {
  const user = accountName(snap, attempt.username);
  const account = snap.accounts.get(user);
  const fail = (note: string): AuthResult => ({ ok: false, user, note });
  if (!account) return fail(`no account ${JSON.stringify(user)} (inbox/${user}/ does not exist)`);
  const pw = account.password;
  if (!pw) return fail(`account ${user} has no apop.dat password`);
  if (attempt.method === 'CRAM-MD5') {
    // RFC 2195: the server needs the password itself; a salted hash cannot answer it.
    if (pw.kind !== 'plain') return fail(`account ${user} has a hashed password: CRAM-MD5 impossible, use PLAIN or LOGIN`);
    return attempt.validatePassword?.(pw.value)
      ? { ok: true, user, note: `account ${user} authenticated (CRAM-MD5)` }
      : fail(`account ${user}: wrong CRAM-MD5 response`);
  }
  const ok = await verifyPasswordAsync(pw, attempt.password ?? '');
  return ok ? { ok: true, user, note: `account ${user} authenticated (${attempt.method})` } : fail(`account ${user}: wrong password`);
}
