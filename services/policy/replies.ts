// Every reply the policy engine can give, in one place, so docs/policy.md and the tests name
// the same texts. Enhanced codes per RFC 3463; `text` is what follows the enhanced code.
import type { Reply } from './types.js';

export function formatReply(r: Reply): string {
  return `${r.code} ${r.enhanced} ${r.text}`;
}

const BAD_SOURCE = 'Please, mail from a valid IP or Domain address.';

export const replies = {
  /** effect.dat `false` on an IP/domain pattern: at connect, then close (SPEC 6). */
  connectRefused: (): Reply => ({ code: 554, enhanced: '5.7.1', text: BAD_SOURCE }),
  /** effect.dat `false` on a sender pattern (`user@dom`, `*@dom`, `#<>`, `#blank`). */
  senderRefused: (): Reply => ({ code: 550, enhanced: '5.7.1', text: BAD_SOURCE }),
  /** RFC 3463 X.1.7: bad sender's mailbox syntax. */
  badSender: (addr: string): Reply => ({ code: 553, enhanced: '5.1.7', text: `<${addr}>: Bad sender address syntax` }),
  /** SPEC 7: a local account with a password, not authenticated as it. RFC 4954 6: 530 5.7.0. */
  authRequired: (addr: string): Reply => ({ code: 530, enhanced: '5.7.0', text: `Authentication required for <${addr}>` }),
  /** `$offsmtp` in the account folder. */
  sendingDisabled: (user: string): Reply => ({ code: 550, enhanced: '5.7.1', text: `Sending disabled for account ${user}` }),
  /** usetime.dat: temporary, so a queueing client retries and succeeds inside a window. */
  outsideUsetime: (user: string): Reply => ({ code: 450, enhanced: '4.7.1', text: `Sending not allowed at this time for account ${user}` }),
  /** RFC 3463 X.1.3: bad destination mailbox address syntax. */
  badRecipient: (addr: string): Reply => ({ code: 553, enhanced: '5.1.3', text: `<${addr}>: Bad recipient address syntax` }),
  /** SPEC 5: no account and no alias. RFC 3463 X.1.1. */
  userUnknown: (addr: string): Reply => ({ code: 550, enhanced: '5.1.1', text: `<${addr}>... User unknown` }),
  /**
   * Recipient verification could not ask the internal server (down, timeout, 4xx): temporary,
   * so the client retries later (RFC 5321 4.2.5; Postfix answers 450 4.1.1 here too).
   */
  recipientUnverified: (addr: string): Reply => ({
    code: 450,
    enhanced: '4.1.1',
    text: `<${addr}>... Recipient address cannot be verified now, try again later`,
  }),
  /** A domain that is neither local nor routed, without relay permission (and every abuse form). */
  relayDenied: (addr: string): Reply => ({ code: 554, enhanced: '5.7.1', text: `<${addr}>: Relay access denied` }),
  /** sender.dat `-1` of the sending account. */
  destinationForbidden: (addr: string, user: string): Reply => ({
    code: 550,
    enhanced: '5.7.1',
    text: `<${addr}>: Destination not allowed for account ${user}`,
  }),
} as const;
