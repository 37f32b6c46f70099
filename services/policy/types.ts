// What the policy engine is asked and what it answers. Pure data: the receiver fills a
// PolicySession from its SMTP session; `explain` fills one from the command line.
import type { SourceRef, EffectAction } from '../config/types.js';

export interface PolicySession {
  /** Client IP as text, IPv4-mapped IPv6 already unwrapped (`::ffff:1.2.3.4` -> `1.2.3.4`). */
  clientIp: string;
  /** Forward-confirmed reverse-DNS name, lower-case, or '' when none. */
  clientHostname: string;
  helo: string;
  /** Authenticated account (lower-case user name), or '' when not authenticated. */
  authUser: string;
  /** Local time the decision is made at (usetime.dat). */
  now: Date;
}

/**
 * The envelope sender as the client wrote it.
 * `null`: `MAIL FROM:<>`; `blank`: `MAIL FROM:` with an empty argument; else the address.
 */
export type SenderArg = { kind: 'null' } | { kind: 'blank' } | { kind: 'address'; address: string };

/** A reply the receiver sends as is: `550 5.1.1 <a@b>... User unknown`. */
export interface Reply {
  code: number;
  /** Enhanced status code, e.g. `5.7.1`. */
  enhanced: string;
  text: string;
}

/** A decision and the rule that made it. `rule` is absent when the built-in default decided. */
export interface Decision {
  accept: boolean;
  /** Set when accept is false. */
  reply?: Reply;
  /** The rule that decided (effect.dat line, alias line, sender.dat line, …). */
  rule?: SourceRef;
  /** One-line English reason for logs, debug trace and `explain`. */
  reason: string;
  /** Every look-up made on the way, in order, for the debug trace and `explain`. */
  trace: string[];
}

/** The relay standing of a session after MAIL FROM (SPEC 6). */
export interface RelayStanding {
  /** The effect.dat action in force (`default` when no line matched). */
  action: EffectAction;
  rule?: SourceRef;
}

export interface MailFromDecision extends Decision {
  standing: RelayStanding;
}

/** Where a recipient goes once accepted. */
export type RecipientTarget =
  | { kind: 'local'; user: string; address: string }
  | { kind: 'remote'; address: string };

export interface RcptDecision extends Decision {
  /** What the recipient expands to (aliases applied); empty when refused. */
  targets: RecipientTarget[];
}

/** The next hops for a domain (SPEC 4), in the order to try. */
export type Route =
  | { kind: 'gateway'; hops: Array<{ host: string; port: number; rule: SourceRef }> }
  | { kind: 'smarthost'; host: string; port: number }
  | { kind: 'mx'; domain: string }
  | { kind: 'local' };

// ---------------------------------------------------------------------------------------
// The policy tester (`sekisho explain`, SPEC 9 and 11). Declared here, where the engine that
// answers it lives; services/control/api.ts re-exports them for the UI.

export interface ExplainRequest {
  /** Client IP address. */
  client: string;
  helo?: string;
  /** "As if authenticated as this account"; empty or absent = not authenticated. */
  auth?: string;
  /** Envelope sender: `''` or `<>` = null sender, `#blank` = `MAIL FROM:` with an empty argument. */
  from: string;
  to: string[];
}

export interface ExplainResult {
  connect: { accept: boolean; reply?: string; rule?: string; reason: string };
  mailFrom: { accept: boolean; reply?: string; rule?: string; reason: string };
  recipients: Array<{ address: string; accept: boolean; reply?: string; rule?: string; reason: string; route?: string; trace: string[] }>;
  /** The whole trace as text lines, as `sekisho explain` prints it. */
  text: string[];
}
