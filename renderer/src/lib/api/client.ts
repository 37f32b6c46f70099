// One interface for the UI, two transports: the Electron preload and the HTTP API of
// `sekisho serve`. Components receive an ApiClient and never know which one it is.
import type { ControlApi, ControlEvent } from './types.js';

export type Method = keyof ControlApi;

export interface ApiClient {
  call<M extends Method>(method: M, ...args: Parameters<ControlApi[M]>): Promise<Awaited<ReturnType<ControlApi[M]>>>;
  /** Subscribe to pushed events; returns the unsubscribe function. */
  onEvent(cb: (ev: ControlEvent) => void): () => void;
  /** 'electron' opens debug consoles as windows; 'http' shows them as a panel. */
  readonly kind: 'electron' | 'http';
}

/** What the preload exposes as `window.sekisho` (electron/preload.cts). */
export interface PreloadBridge {
  call(method: string, ...args: unknown[]): Promise<unknown>;
  onEvent(cb: (ev: unknown) => void): () => void;
}

export class ApiError extends Error {
  constructor(
    message: string,
    readonly method: string,
    /** HTTP status, 0 for a network failure or an IPC error. */
    readonly status = 0,
  ) {
    super(message);
  }
}
