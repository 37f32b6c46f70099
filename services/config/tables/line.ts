import type { Diagnostic } from '../types.js';

/** What a table parser makes of one non-comment, non-blank line. */
export type LineResult<R> = { rule: R; error?: undefined } | { error: Diagnostic; rule?: undefined };
