// Restart-on-crash delays (SPEC 1: "restart-on-crash with backoff"). Exponential, like
// systemd's RestartSec with a steps/max, so a child that dies at once (port in use, broken
// config) does not spin the CPU, and a child that ran long enough starts over at the minimum.

export interface BackoffPolicy {
  /** Delay before the first restart. */
  initialMs: number;
  /** Cap of the doubling. */
  maxMs: number;
  /** A child that stayed up this long is considered healthy: the next crash starts at initialMs again. */
  resetAfterMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 1_000, maxMs: 60_000, resetAfterMs: 60_000 };

/** Delay before restart number `failures` (1 = first consecutive failure). */
export function backoffDelay(policy: BackoffPolicy, failures: number): number {
  const n = Math.max(1, Math.min(failures, 32));
  return Math.min(policy.maxMs, policy.initialMs * 2 ** (n - 1));
}
