// No passwords in any log (SPEC 10). AUTH (RFC 4954) carries credentials in three places:
// the initial response of `AUTH PLAIN <b64>` / `AUTH LOGIN <b64>` (section 4), and every
// line the client sends in answer to a `334` challenge (the LOGIN user name and password,
// the CRAM-MD5 digest, a PLAIN response sent after an empty challenge).
const AUTH_WITH_RESPONSE = /^(\s*AUTH\s+[A-Za-z0-9_-]+\s+)\S.*$/i;

export const MASK = '****';

/** Mask the initial response of an AUTH command; other lines come back unchanged. */
export function maskAuth(line: string): string {
  return line.replace(AUTH_WITH_RESPONSE, `$1${MASK}`);
}

/**
 * The per-session masker the receive log uses: after our `334` reply the next client line is
 * an AUTH response and is replaced by `****` whatever it holds (even `*`, the cancel: RFC 4954
 * section 4 — masking it too keeps the rule simple and leaks nothing).
 */
export class AuthMasker {
  private awaitingResponse = false;

  /** A line we sent (`> …`). */
  server(line: string): string {
    this.awaitingResponse = /^334(?:[ -]|$)/.test(line);
    return line;
  }

  /** A line the client sent (`< …`): masked when it answers a 334 or carries AUTH data. */
  client(line: string): string {
    if (this.awaitingResponse) {
      this.awaitingResponse = false;
      return MASK;
    }
    return maskAuth(line);
  }

  /** Whether the next client line will be masked (no state worth keeping otherwise). */
  get pending(): boolean {
    return this.awaitingResponse;
  }
}
