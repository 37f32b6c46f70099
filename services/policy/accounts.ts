// Account rules (SPEC 7): which local account a session sends as, and that account's limits
// ($offsmtp, usetime.dat, sender.dat). Pure: the snapshot already holds every account folder.
import type { Account, ConfigSnapshot, SenderRule, UsetimeWindow } from '../config/types.js';
import { normalizeDomain, parseAddress, type ParsedAddress } from './address.js';
import type { PolicySession, SenderArg } from './types.js';
import { lookupOf } from './lookup.js';

export function isLocalDomain(snap: ConfigSnapshot, domain: string): boolean {
  return lookupOf(snap).localDomains.has(normalizeDomain(domain));
}

/**
 * The local account an address names: its domain is in domains.dat and its local part (quotes
 * and case ignored, so `"Postmaster"@test.jp` is postmaster) is an account folder.
 */
export function localAccountOf(snap: ConfigSnapshot, addr: ParsedAddress): Account | undefined {
  if (addr.error || !isLocalDomain(snap, addr.domain)) return undefined;
  return snap.accounts.get(addr.localKey);
}

export function senderAddress(sender: SenderArg): ParsedAddress | undefined {
  return sender.kind === 'address' ? parseAddress(sender.address) : undefined;
}

export interface SendingAccount {
  account: Account;
  /** `auth`: the session authenticated as it; `sender`: MAIL FROM names it. */
  via: 'auth' | 'sender';
}

/**
 * The account whose limits apply to this transaction: the authenticated account when there is
 * one (it is who is really sending), else the local account MAIL FROM names (a trusted LAN
 * client sending as that account), else none.
 */
export function sendingAccount(snap: ConfigSnapshot, session: PolicySession, sender: SenderArg): SendingAccount | undefined {
  if (session.authUser) {
    const a = snap.accounts.get(session.authUser.toLowerCase());
    if (a) return { account: a, via: 'auth' };
  }
  const addr = senderAddress(sender);
  const a = addr ? localAccountOf(snap, addr) : undefined;
  return a ? { account: a, via: 'sender' } : undefined;
}

/**
 * The usetime.dat window `now` falls in, or undefined. A window whose end is before its start
 * runs past midnight and belongs to the day it starts on: `mon-fri 22:00-06:00` covers
 * Saturday 03:00 (Friday's night) but not Monday 03:00 (Sunday is not listed). start == end is
 * the whole day.
 */
export function usetimeWindowAt(windows: UsetimeWindow[], now: Date): UsetimeWindow | undefined {
  const day = now.getDay();
  const minute = now.getHours() * 60 + now.getMinutes();
  const yesterday = (day + 6) % 7;
  return windows.find((w) => {
    if (w.start === w.end) return w.days.includes(day);
    if (w.start < w.end) return w.days.includes(day) && minute >= w.start && minute < w.end;
    return (w.days.includes(day) && minute >= w.start) || (w.days.includes(yesterday) && minute < w.end);
  });
}

/** sender.dat, first match: `*`, `*@domain`, `user@domain`, or a bare `domain`. */
export function senderRuleFor(account: Account, rcpt: ParsedAddress): SenderRule | undefined {
  const address = `${rcpt.localKey}@${rcpt.domain}`;
  return account.senderRules.find((r) => {
    const p = r.pattern.toLowerCase().trim();
    if (p === '*' || p === '*@*') return true;
    if (p.startsWith('*@')) return normalizeDomain(p.slice(2)) === rcpt.domain;
    if (p.includes('@')) {
      const at = p.lastIndexOf('@');
      return `${p.slice(0, at)}@${normalizeDomain(p.slice(at + 1))}` === address;
    }
    return normalizeDomain(p) === rcpt.domain;
  });
}

export function formatMinutes(m: number): string {
  return `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
}
