// Every reply the receiver writes itself (the policy engine's replies are sent as it returns
// them). Texts and enhanced codes are part of the contract: docs/receiver.md lists them and
// tests assert on them, so change them only together.
import type { Reply } from '../policy/types.js';

function reply(code: number, enhanced: string, text: string): Reply {
  return { code, enhanced, text };
}

export const REPLIES = {
  /** RFC 1870 section 6.3: message larger than the fixed maximum. */
  sizeExceeded: reply(552, '5.3.4', 'Message size exceeds fixed maximum message size'),
  /** RFC 5321 section 4.5.3.1.10: the client sends the remaining recipients in a new transaction. */
  tooManyRecipients: reply(452, '4.5.3', 'Too many recipients'),
  /** RFC 5321 section 6.3: a message that went through too many hops is in a loop. */
  tooManyHops: reply(554, '5.4.6', 'Too many hops (mail loop)'),
  /** SMTP smuggling (CVE-2023-51764 family): a lone dot framed by a bare CR or LF. */
  smuggling: reply(554, '5.6.0', 'Bare LF/CR line ending not allowed (SMTP smuggling)'),
  /** Queue write failed: RFC 5321 section 4.2.3 451, the client retries later. */
  localError: reply(451, '4.3.0', 'Requested action aborted: local error in processing'),
  /** An internal error before the greeting: RFC 5321 section 3.1, 421 and the close. */
  connectLocalError: reply(421, '4.3.0', 'Service temporarily unavailable: local error in processing'),
  tooManyConnections: reply(421, '4.7.0', 'Too many connections, try again later'),
  shuttingDown: reply(421, '4.3.2', 'Service shutting down, try again later'),
  /** RFC 4954 section 6: AUTH before TLS when TLS is required for it. */
  encryptionRequired: reply(538, '5.7.11', 'Encryption required for requested authentication mechanism'),
  authNotEnabled: reply(503, '5.5.1', 'Error: authentication not enabled'),
  authAlready: reply(503, '5.5.1', 'Error: already authenticated'),
  authNotInTransaction: reply(503, '5.5.1', 'Error: MAIL transaction in progress'),
  authInvalid: reply(535, '5.7.8', 'Authentication credentials invalid'),
  authTooManyFailures: reply(421, '4.7.0', 'Too many authentication failures'),
  /** RFC 5321 sections 4.2.4 and 4.5.3.1.4: a command line over the limit (16 KB here). */
  lineTooLong: reply(500, '5.5.2', 'Error: command line too long'),
  vrfyDisabled: reply(502, '5.5.1', 'VRFY command is disabled'),
  expnDisabled: reply(502, '5.5.1', 'EXPN command is disabled'),
  vrfySyntax: reply(501, '5.5.4', 'Syntax: VRFY address'),
  expnSyntax: reply(501, '5.5.4', 'Syntax: EXPN address'),
} as const;

/** The text smtp-server sends after the code: `5.3.4 Message size exceeds ...`. */
export function replyMessage(r: Reply): string {
  return `${r.enhanced} ${r.text}`;
}

export function formatReply(r: Reply): string {
  return `${r.code} ${r.enhanced} ${r.text}`;
}

/** The error object smtp-server turns into a reply (err.responseCode + err.message). */
export class SmtpReplyError extends Error {
  readonly responseCode: number;
  constructor(readonly reply: Reply) {
    super(replyMessage(reply));
    this.responseCode = reply.code;
  }
}

/** `250 2.0.0 Ok: queued as B0000000123`, sent only after the queue commit resolved. */
export function queuedText(id: string): string {
  return `2.0.0 Ok: queued as ${id}`;
}
