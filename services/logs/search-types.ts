// The types of the log search and the overview's traffic counts (logs/search.ts, logs/stats.ts);
// services/control/api.ts re-exports them for the UI. Types only.
import type { LogKind } from './types.js';
import type { Diagnostic } from '../config/types.js';

/** One search over several logs (accept, receive, sender), for a day or across days. */
export interface LogSearchQuery {
  /** Substring, case-insensitive: an address, a queue ID (B…, B…-R0001) or an IP. */
  text: string;
  /** YYMMDD; default today. */
  day?: string;
  acrossDays?: boolean;
  /** Default: every log. */
  kinds?: LogKind[];
  /** Max hits returned, newest last (default 500). */
  limit?: number;
}

export interface LogSearchHit {
  kind: LogKind;
  /** YYMMDD of the file the line is in. */
  day: string;
  /** Sortable local time of the line (`2026-12-05T13:04:05.000`); hits are merged by it. */
  time: string;
  text: string;
}

/** Counts of one day or one local hour for the overview (what each counts: logs/stats.ts). */
export interface TrafficCounts {
  /** Messages the receiver queued (receive log: `250 … queued as B…`). */
  accepted: number;
  /** Connections refused (accept log) + senders, recipients, messages refused with 5xx (receive log). */
  refused: number;
  /** Recipients delivered (sender log). */
  delivered: number;
  /** Recipients whose attempt failed temporarily and stay queued (sender log). */
  deferred: number;
  /** Recipients failed for good, bounced to the sender (sender log). */
  bounced: number;
}

export interface TrafficError {
  /** ISO time. */
  at: string;
  source: 'receiver' | 'delivery' | 'config' | 'service';
  text: string;
  /** For a configuration error: the diagnostic itself, so the UI can show it in its language by code. */
  diagnostic?: Diagnostic;
}

export interface TrafficStats {
  /** YYMMDD. */
  day: string;
  totals: TrafficCounts;
  /** 24 entries, index = local hour. */
  hours: TrafficCounts[];
  /** Newest last. */
  lastErrors: TrafficError[];
}
