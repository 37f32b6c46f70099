// Envelope addresses (RFC 5321 4.1.2 Path / Mailbox) and the forms spammers use to make a
// gateway relay: the percent hack, bang paths, source routes (RFC 5321 3.6.1, C), a second
// `@`, a quoted local part holding an address, IP literals (RFC 5321 4.1.3). Those are
// detected here once, so no other module grows its own address parser (ARCHITECTURE).
//
// Deliberately lenient on dot placement in the local part: Japanese mobile carriers issued
// addresses such as `taro..yamada.@docomo.ne.jp` for years and an office gateway must take
// them. What it must never do is let a form bypass a check.

export type AbuseForm =
  | 'source-route'
  | 'multiple-at'
  | 'quoted-at'
  | 'percent-hack'
  | 'bang-path'
  | 'colon'
  | 'ip-literal';

export const ABUSE_TEXT: Record<AbuseForm, string> = {
  'source-route': 'source route (@host:user@domain, RFC 5321 C)',
  'multiple-at': 'second @ in the local part',
  'quoted-at': 'quoted local part holding an @',
  'percent-hack': '% in the local part (percent hack)',
  'bang-path': '! in the local part (UUCP bang path)',
  colon: ': in the local part',
  'ip-literal': 'IP address literal as domain',
};

export interface ParsedAddress {
  /** The address as given, surrounding angle brackets and spaces removed. */
  raw: string;
  /** Local part as written (quotes kept). */
  local: string;
  /**
   * The local part's value for matching: quotes removed, `\x` escapes resolved, lower-cased.
   * `"postmaster"` and `Postmaster` are the same mailbox here, so quoting never dodges a check.
   */
  localKey: string;
  /** Lower-case, one trailing dot removed (`test.jp.` -> `test.jp`); `[1.2.3.4]` kept with brackets; '' when none. */
  domain: string;
  /** `local@domain` with the normalised domain (the local part as written). */
  address: string;
  /** True when the domain was written with a trailing dot. */
  trailingDot: boolean;
  /** Set when the address uses a relay-abuse form (SPEC 6): never relayed unless trusted. */
  abuse?: AbuseForm;
  /** Set when the address cannot be parsed at all. */
  error?: string;
}

// RFC 5322 3.2.3 atext, plus any non-ASCII character (RFC 6531 SMTPUTF8) and '.'.
const ATEXT = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.\u0080-\uFFFF]+$/;
// Letters, digits, hyphen; underscore tolerated (seen in the wild); non-ASCII for IDN (RFC 6531).
const LABEL = /^[A-Za-z0-9_\u0080-\uFFFF]([A-Za-z0-9_\-\u0080-\uFFFF]*[A-Za-z0-9_\u0080-\uFFFF])?$/;

function fail(raw: string, error: string): ParsedAddress {
  return { raw, local: raw, localKey: raw.toLowerCase(), domain: '', address: raw, trailingDot: false, error };
}

/** Parse `user@domain`, `<user@domain>`, `"quoted"@domain`, `@route:user@domain`. */
export function parseAddress(text: string): ParsedAddress {
  let s = text.trim();
  if (s.startsWith('<') && s.endsWith('>')) s = s.slice(1, -1).trim();
  const raw = s;
  if (s === '') return fail(raw, 'empty address');
  if (s.length > 320) return fail(raw, 'address too long');
  if (/[\x00-\x1f\x7f]/.test(s)) return fail(raw, 'control character in address');

  let abuse: AbuseForm | undefined;
  // RFC 5321 4.1.2 A-d-l: `@a,@b:user@c`. Obsolete, and exactly what relayers send.
  if (s.startsWith('@')) {
    const colon = s.indexOf(':');
    if (colon < 0) return fail(raw, 'source route without ":"');
    abuse = 'source-route';
    s = s.slice(colon + 1);
  }

  let local: string;
  let localKey: string;
  let domainPart: string;
  if (s.startsWith('"')) {
    // RFC 5321 4.1.2 Quoted-string: qtextSMTP or `\` + any printable.
    let i = 1;
    let value = '';
    let closed = false;
    for (; i < s.length; i++) {
      const c = s[i];
      if (c === '\\') {
        if (i + 1 >= s.length) return fail(raw, 'unterminated quoted local part');
        value += s[++i];
      } else if (c === '"') {
        closed = true;
        break;
      } else {
        value += c;
      }
    }
    if (!closed) return fail(raw, 'unterminated quoted local part');
    local = s.slice(0, i + 1);
    const rest = s.slice(i + 1);
    if (rest !== '' && !rest.startsWith('@')) return fail(raw, 'text after the quoted local part');
    domainPart = rest === '' ? '' : rest.slice(1);
    localKey = value.toLowerCase();
    if (domainPart.includes('@')) abuse ??= 'multiple-at';
    else if (value.includes('@')) abuse ??= 'quoted-at';
  } else {
    const at = s.lastIndexOf('@');
    local = at < 0 ? s : s.slice(0, at);
    domainPart = at < 0 ? '' : s.slice(at + 1);
    localKey = local.toLowerCase();
    if (local.includes('@')) abuse ??= 'multiple-at';
    else if (local.includes(':')) abuse ??= 'colon';
    else if (!ATEXT.test(local)) return fail(raw, 'invalid character in the local part');
  }
  if (localKey === '' && !abuse) return fail(raw, 'empty local part');
  if (localKey.includes('%')) abuse ??= 'percent-hack';
  if (localKey.includes('!')) abuse ??= 'bang-path';
  if (localKey.includes(':')) abuse ??= 'colon';

  let domain = domainPart;
  let trailingDot = false;
  if (domain.startsWith('[') && domain.endsWith(']')) {
    abuse ??= 'ip-literal';
    domain = domain.toLowerCase();
  } else if (domain !== '') {
    if (domain.endsWith('.')) {
      // RFC 1035 absolute name: `test.jp.` is `test.jp`. Normalised so it matches the same
      // rules, never so it slips past them.
      trailingDot = true;
      domain = domain.slice(0, -1);
    }
    domain = domain.toLowerCase();
    if (domain.length > 255) return fail(raw, 'domain too long');
    if (!domain.split('.').every((l) => LABEL.test(l))) return fail(raw, 'invalid domain');
  } else if (domainPart === '' && s.includes('@')) {
    return fail(raw, 'empty domain');
  }
  const address = domain ? `${local}@${domain}` : local;
  return { raw, local, localKey, domain, address, trailingDot, abuse };
}

/** Lower-case and drop one trailing dot: the form every domain comparison uses. */
export function normalizeDomain(domain: string): string {
  const d = domain.trim().toLowerCase();
  return d.endsWith('.') ? d.slice(0, -1) : d;
}

/** `host` equal to `domain` or a subdomain of it (`a.b.jp` ends in `.b.jp`). */
export function isSameOrSubdomain(host: string, domain: string): boolean {
  const h = normalizeDomain(host);
  const d = normalizeDomain(domain);
  return h !== '' && d !== '' && (h === d || h.endsWith(`.${d}`));
}
