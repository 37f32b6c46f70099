// The one typed contract between the management UI and the rest (ARCHITECTURE, SPEC 11).
// The Electron preload and the HTTP server of `sekisho serve` are both thin adapters over an
// implementation of ControlApi; the renderer sees only this file's types.
//
// Only types here (no imports of runtime code), so the renderer can import it safely.

import type { Diagnostic, TextFileFormat, TableName } from '../config/types.js';
import type { Settings } from '../config/settings.js';
import type { ControlRecord } from '../queue/types.js';
import type { LogKind, LogLine, LogQuery } from '../logs/types.js';
import type { ServiceName, ServiceStatus, SupervisorEvent } from '../supervisor/types.js';
import type { LogSearchHit, LogSearchQuery, TrafficCounts, TrafficError, TrafficStats } from '../logs/search-types.js';
export type { LogSearchHit, LogSearchQuery, TrafficCounts, TrafficError, TrafficStats };

export type { Diagnostic, TextFileFormat, TableName, Settings, ControlRecord, LogKind, LogLine, LogQuery };

/** A table file as the editor sees it: every line, comments included, in file order. */
export interface TableView {
  table: TableName;
  file: string;
  format: TextFileFormat;
  /** Opaque version (content hash); pass it back to saveTable to detect edits made elsewhere. */
  version: string;
  lines: Array<{
    line: number;
    raw: string;
    kind: 'comment' | 'blank' | 'rule' | 'error';
    /** Rule fields as text, in column order, for the grid (e.g. gateway: [domain, host, port]). */
    fields?: string[];
  }>;
  /** Errors and warnings of this file (errors block saving). */
  diagnostics: Diagnostic[];
}

export interface SaveTableRequest {
  table: TableName;
  /** The lines to write, raw text, in order (comments and blanks included). */
  lines: string[];
  /** The version the edit started from; a mismatch answers `conflict`. */
  baseVersion: string;
  /** Write even if the file changed on disk since baseVersion. */
  force?: boolean;
}

export type SaveTableResult =
  | { ok: true; version: string; diagnostics: Diagnostic[] }
  | { ok: false; reason: 'invalid'; diagnostics: Diagnostic[] }
  | { ok: false; reason: 'conflict'; current: TableView };

// The services' names and status are the supervisor's (services/supervisor/types.ts).
export type { ServiceName, ServiceStatus, SupervisorEvent };

export interface QueueEntry extends ControlRecord {
  /** True while a delivery worker holds the message. */
  locked: boolean;
}

// The policy tester's request and answer are declared by the policy engine that answers them.
export type { ExplainRequest, ExplainResult } from '../policy/types.js';
import type { ExplainRequest, ExplainResult } from '../policy/types.js';

export interface AccountView {
  user: string;
  hasPassword: boolean;
  sendingDisabled: boolean;
  usetime: string[];
  senderRules: string[];
  /** 'plain': stored reversibly (CRAM-MD5 works); 'hashed': scrypt; null: no password. */
  passwordKind: 'plain' | 'hashed' | null;
}

export interface TlsInfo {
  cert: string;
  key: string;
  subject?: string;
  validTo?: string;
  error?: string;
}

export interface VersionInfo {
  version: string;
  node: string;
  electron?: string;
  workdir: string;
}

/** One answer of recipient verification as the UI shows it. */
export interface RecipientCacheView {
  address: string;
  /** exists: the internal server took RCPT TO (2xx); unknown: it refused it (5xx). */
  answer: 'exists' | 'unknown';
  /** When it was asked (ISO 8601). */
  at: string;
  /** The internal server that answered, `host:port`. */
  host: string;
  /** Its reply line. */
  reply: string;
  /** Still used by the receiver (younger than existsCacheSec / unknownCacheSec). */
  fresh: boolean;
}

/** Events pushed to the UI (Electron: IPC events; HTTP: server-sent events at /api/events). */
export type ControlEvent =
  | SupervisorEvent // { type: 'status'; services } | { type: 'debug'; service; line }
  | { type: 'config'; table: TableName | 'settings' | 'accounts'; version: string; diagnostics: Diagnostic[] }
  | { type: 'log'; kind: LogKind; line: string }
  | { type: 'queue' };

export interface ControlApi {
  // Tables
  readTable(table: TableName): Promise<TableView>;
  /** Validate without writing (inline validation while editing). */
  validateTable(table: TableName, lines: string[]): Promise<Diagnostic[]>;
  saveTable(req: SaveTableRequest): Promise<SaveTableResult>;
  /** Bulk import for mode B: one alias `addr -> addr` per address not already present. */
  importAliases(addresses: string[]): Promise<SaveTableResult>;

  // Settings
  readSettings(): Promise<{ settings: Settings; version: string }>;
  saveSettings(settings: unknown, baseVersion: string): Promise<{ ok: true; version: string } | { ok: false; issues: Array<{ path: string; message: string }> }>;
  /** All config warnings (mode A, dangerous true, dead lines, smarthost ping-pong, loop). */
  warnings(): Promise<Diagnostic[]>;

  // Accounts
  listAccounts(): Promise<AccountView[]>;
  /** reversible: store the password as text so CRAM-MD5 (RFC 2195) can work; default hashed. */
  createAccount(user: string, password: string, opts?: { reversible?: boolean }): Promise<void>;
  setPassword(user: string, password: string, opts?: { reversible?: boolean }): Promise<void>;
  setSendingDisabled(user: string, disabled: boolean): Promise<void>;
  deleteAccount(user: string): Promise<void>;

  // Services
  serviceStatus(): Promise<ServiceStatus[]>;
  startService(name: ServiceName): Promise<ServiceStatus>;
  stopService(name: ServiceName): Promise<ServiceStatus>;
  restartService(name: ServiceName, opts?: { debug?: boolean }): Promise<ServiceStatus>;
  /** Recent debug output (the console window also receives `debug` events). */
  debugOutput(name: ServiceName): Promise<string[]>;

  // Queue
  listQueue(): Promise<QueueEntry[]>;
  retryNow(id: string): Promise<void>;
  deleteMessage(id: string): Promise<void>;
  bounceMessage(id: string): Promise<void>;

  // Logs
  readLog(q: LogQuery): Promise<LogLine[]>;
  /** One search across the logs, hits merged by time, each saying its log. */
  searchLogs(q: LogSearchQuery): Promise<LogSearchHit[]>;
  /** A day's traffic per local hour and the last errors, for the overview (default today). */
  trafficStats(day?: string): Promise<TrafficStats>;
  /** Errors and warnings of the whole configuration, apart. */
  configHealth(): Promise<{ errors: Diagnostic[]; warnings: Diagnostic[] }>;

  // Policy tester
  explain(req: ExplainRequest): Promise<ExplainResult>;

  // Recipient verification cache (verify-cache.json, SPEC 5)
  /** The answers the receiver has learnt from the internal servers, newest first. */
  listRecipientCache(): Promise<RecipientCacheView[]>;
  /** Forget one address's answer (any case), or every answer when none is given. */
  clearRecipientCache(address?: string): Promise<{ removed: number }>;

  // TLS, version
  tlsInfo(): Promise<TlsInfo>;
  version(): Promise<VersionInfo>;

  // Lifecycle
  /**
   * Stop the running `sekisho serve` the graceful way (children asked to stop, then serve exits
   * 0); resolves once the stop has begun. Over HTTP it needs the control secret or password
   * even when control.password is empty (docs/control-api.md). Refused (409) where nothing
   * can be shut down this way (the Electron app supervising its own children).
   */
  shutdown(): Promise<void>;
}

/** The method names, for the preload's allow-list and the HTTP router. */
export const CONTROL_METHODS = [
  'readTable', 'validateTable', 'saveTable', 'importAliases',
  'readSettings', 'saveSettings', 'warnings',
  'listAccounts', 'createAccount', 'setPassword', 'setSendingDisabled', 'deleteAccount',
  'serviceStatus', 'startService', 'stopService', 'restartService', 'debugOutput',
  'listQueue', 'retryNow', 'deleteMessage', 'bounceMessage',
  'readLog', 'searchLogs', 'trafficStats', 'configHealth', 'explain', 'tlsInfo', 'version',
  'listRecipientCache', 'clearRecipientCache',
  'shutdown',
] as const satisfies ReadonlyArray<keyof ControlApi>;
