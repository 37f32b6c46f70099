import type { Diagnostic } from '../types.js';

/**
 * What a table parser makes of one non-comment, non-blank line: a rule, or every error found
 * in it (`errors`, in column order; `error` is the first) — an administrator fixing
 * `999.1.1.1 maybe` wants to hear about the pattern and the action at once, not one per save.
 */
export type LineResult<R> =
  | { rule: R; error?: undefined; errors?: undefined }
  | { error: Diagnostic; errors: Diagnostic[]; rule?: undefined };

/** A failed line from its errors (at least one), sorted by column. */
export function failed(errors: Diagnostic[]): { error: Diagnostic; errors: Diagnostic[] } {
  const sorted = [...errors].sort((a, b) => a.column - b.column);
  return { error: sorted[0], errors: sorted };
}
