// The supervisor's own types (ARCHITECTURE: types live with the module that owns the data;
// control imports supervisor, not the other way round). services/control/api.ts re-exports
// them for the UI. Types only: the renderer reaches this file through api.ts.

export type ServiceName = 'receiver' | 'delivery';

export interface ServiceStatus {
  name: ServiceName;
  state: 'stopped' | 'starting' | 'running' | 'stopping' | 'crashed' | 'backoff';
  pid: number | null;
  /** ms since the current process started, null when not running. */
  uptimeMs: number | null;
  debug: boolean;
  /** Listening ports (receiver) as reported by the child. */
  ports: number[];
  restarts: number;
  /** reason: `stopped`, `killed after 20 s: did not stop within the grace period`, or why it died. */
  lastExit: { code: number | null; signal: string | null; at: string; reason: string } | null;
  /** E.g. `port 25 is already in use`. */
  lastError: string | null;
  /** When state is 'crashed' or 'backoff': ISO time of the scheduled automatic restart. */
  nextRestartAt?: string | null;
}

/** What a Supervisor emits as `'event'`: part of the control API's ControlEvent. */
export type SupervisorEvent =
  | { type: 'status'; services: ServiceStatus[] }
  | { type: 'debug'; service: ServiceName; line: string };
