// The retry policy of SPEC 8 as pure functions: given a recipient's state and what happened
// in this attempt, its next state. No I/O, no clock: `now` is passed in.
import type { RecipientState } from '../queue/types.js';
import type { Settings } from '../config/settings.js';

export type RetrySettings = Pick<
  Settings['delivery'],
  'retryIntervalSec' | 'refusalRetries' | 'abnormalHours' | 'noResponseHours'
>;

/**
 * What one attempt did for one recipient.
 * - `delivered`: 2xx (or the local copy is on disk).
 * - `temp`: the hop answered 4xx (RFC 5321 4.2.1 "transient negative").
 * - `noanswer`: no connection, no reply, a timeout, or a DNS failure.
 * - `perm`: 5xx ("permanent negative"): retried `refusalRetries` more times.
 * - `fatal`: fail now, never retried (mail loop, RFC 7505 null MX, no such local mailbox).
 */
export interface AttemptOutcome {
  kind: 'delivered' | 'temp' | 'noanswer' | 'perm' | 'fatal';
  reply: string;
  /** `host[ip]:port`, or '' when no host answered. */
  host: string;
  /**
   * No attempt was made: the hop was found unreachable a moment ago (delivery/dead-hosts.ts).
   * The reply is kept, the attempt counters are not advanced (the time limits still apply).
   */
  notTried?: boolean;
}

const HOUR_MS = 3600_000;

/**
 * Apply one attempt's outcome. A recipient already final is returned unchanged.
 * `abnormalHours` / `noResponseHours` of 0 mean "no time limit" (SPEC 2: 0 = unlimited).
 */
export function applyOutcome(
  state: RecipientState,
  outcome: AttemptOutcome,
  now: Date,
  policy: RetrySettings,
): RecipientState {
  if (state.status !== 'pending') return state;
  if (outcome.notTried) {
    // Nothing was sent: only an expired clock (of an earlier real attempt) ends the wait.
    const next: RecipientState = { ...state, lastReply: outcome.reply };
    if (outcome.host) next.lastHost = outcome.host;
    const first = state.firstAttemptAt ? Date.parse(state.firstAttemptAt) : NaN;
    if (Number.isFinite(first) && policy.noResponseHours > 0 && now.getTime() - first >= policy.noResponseHours * HOUR_MS) {
      next.status = 'failed';
    }
    return next;
  }
  const firstAttemptAt = state.firstAttemptAt ?? now.toISOString();
  const next: RecipientState = {
    ...state,
    attempts: state.attempts + 1,
    lastReply: outcome.reply,
    lastAttemptAt: now.toISOString(),
    firstAttemptAt,
  };
  if (outcome.host) next.lastHost = outcome.host;
  else delete next.lastHost;
  const elapsedMs = now.getTime() - Date.parse(firstAttemptAt);
  const expired = (hours: number) => hours > 0 && elapsedMs >= hours * HOUR_MS;
  switch (outcome.kind) {
    case 'delivered':
      next.status = 'delivered';
      break;
    case 'temp':
      if (expired(policy.abnormalHours)) next.status = 'failed';
      break;
    case 'noanswer':
      if (expired(policy.noResponseHours)) next.status = 'failed';
      break;
    case 'perm':
      next.refusals = state.refusals + 1;
      if (next.refusals > policy.refusalRetries) next.status = 'failed';
      break;
    case 'fatal':
      next.status = 'failed';
      break;
  }
  return next;
}

/** When to try again: now + retryIntervalSec (at least one second, so 0 cannot spin). */
export function nextAttemptAt(now: Date, policy: RetrySettings): Date {
  return new Date(now.getTime() + Math.max(1, policy.retryIntervalSec) * 1000);
}

/** Why a recipient became failed, for the bounce text: the reply plus, for expired
 * 4xx/no-answer clocks, a note that the retry time ran out. */
export function failureNote(outcome: AttemptOutcome): string {
  switch (outcome.kind) {
    case 'temp':
      return 'temporary failures for longer than the retry period (delivery.abnormalHours)';
    case 'noanswer':
      return 'no answer for longer than the retry period (delivery.noResponseHours)';
    case 'perm':
      return 'permanently refused';
    default:
      return 'failed';
  }
}

/** Map a remote SMTP reply to an outcome kind (RFC 5321 4.2.1: first digit decides). */
export function outcomeKindOfReply(code: number | undefined): AttemptOutcome['kind'] {
  if (!code) return 'noanswer';
  if (code < 400) return 'delivered';
  if (code < 500) return 'temp';
  return 'perm';
}
