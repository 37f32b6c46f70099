// The types of the logs, owned here (ARCHITECTURE: a log line's type lives in logs/);
// services/control/api.ts re-exports them for the UI. Types only: the renderer reaches this
// file through api.ts.

export type LogKind = 'accept' | 'receive' | 'sender';

export interface LogQuery {
  kind: LogKind;
  /** YYMMDD; default today. */
  day?: string;
  /** Substring (ID or address) searched across days when `acrossDays`. */
  search?: string;
  acrossDays?: boolean;
  /** Max lines returned, newest last. */
  limit?: number;
}

export interface LogLine {
  day: string;
  text: string;
}
