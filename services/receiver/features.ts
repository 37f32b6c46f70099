// What a session is offered (EHLO keywords) and whether AUTH may run, as pure functions of
// the settings and the session's state, so the rules are tested as data.
import type { Settings } from '../config/settings.js';
import type { Reply } from '../policy/types.js';
import { REPLIES } from './replies.js';

export interface AuthContext {
  settings: Settings;
  /** A certificate is loaded (STARTTLS offered / implicit TLS possible). */
  tlsConfigured: boolean;
  /** This session runs over TLS (after STARTTLS or on an implicit-TLS port). */
  secure: boolean;
  authenticated: boolean;
  /** MAIL FROM given and not yet finished. */
  inTransaction: boolean;
}

function authMethods(settings: Settings): string[] {
  return settings.auth.enabled ? [...new Set(settings.auth.methods.map((m) => m.toUpperCase()))] : [];
}

/**
 * Why AUTH is refused right now, or null when it may run.
 * - auth.enabled off or no method: not offered, `503 5.5.1`.
 * - requireTlsForAuth on a plain session: when a certificate is configured AUTH waits for
 *   STARTTLS (`538 5.7.11`, RFC 4954 section 6); when none is configured AUTH is never
 *   possible (strict: a password never crosses the network in clear, docs/receiver.md).
 * - RFC 4954 section 4: not after a successful AUTH, not inside a mail transaction.
 */
export function authRefusal(c: AuthContext): Reply | null {
  if (!authMethods(c.settings).length) return REPLIES.authNotEnabled;
  if (c.settings.receiver.requireTlsForAuth && !c.secure) {
    return c.tlsConfigured ? REPLIES.encryptionRequired : REPLIES.authNotEnabled;
  }
  if (c.authenticated) return REPLIES.authAlready;
  if (c.inTransaction) return REPLIES.authNotInTransaction;
  return null;
}

/** The methods the EHLO reply names, or [] when AUTH is not offered to this session. */
export function offeredAuthMethods(c: AuthContext): string[] {
  if (c.authenticated) return [];
  const refusal = authRefusal({ ...c, inTransaction: false });
  return refusal ? [] : authMethods(c.settings);
}

/**
 * The EHLO keyword list (RFC 5321 section 4.1.1.1). smtp-server's own list comes in; we keep
 * PIPELINING (RFC 2920), 8BITMIME (RFC 6152), SMTPUTF8 (RFC 6531), ENHANCEDSTATUSCODES
 * (RFC 2034) and STARTTLS (RFC 3207) as it decided them, drop what we do not implement
 * end to end (DSN, REQUIRETLS), and set AUTH (RFC 4954) and SIZE (RFC 1870) ourselves.
 */
export function ehloKeywords(libraryFeatures: string[], c: AuthContext): string[] {
  const keep = libraryFeatures.filter((f) => !/^(AUTH|SIZE|DSN|REQUIRETLS)\b/i.test(f));
  const methods = offeredAuthMethods(c);
  if (methods.length) keep.push(`AUTH ${methods.join(' ')}`);
  const max = c.settings.receiver.maxMessageBytes;
  // RFC 1870 section 4: `SIZE` alone (or 0) says there is no fixed limit.
  keep.push(max > 0 ? `SIZE ${max}` : 'SIZE');
  return keep;
}
