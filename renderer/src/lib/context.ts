// What every component needs: the API client, the language, and the pushed events.
import { getContext, setContext } from 'svelte';
import type { ApiClient } from './api/client.js';
import type { ControlEvent } from './api/types.js';
import type { I18n } from './i18n/i18n.svelte.js';

export interface AppContext {
  api: ApiClient;
  i18n: I18n;
  /** Subscribe to pushed events (one shared subscription to the API); returns unsubscribe. */
  onEvent(cb: (ev: ControlEvent) => void): () => void;
  /** Open a service's debug console (a window in Electron, a panel in the browser). */
  openDebug(service: 'receiver' | 'delivery'): void;
}

const KEY = Symbol('sekisho-app');

export function setApp(ctx: AppContext): void {
  setContext(KEY, ctx);
}

export function app(): AppContext {
  return getContext<AppContext>(KEY);
}

/** A tiny fan-out so many components share the single event stream of the client. */
export class EventHub {
  private readonly listeners = new Set<(ev: ControlEvent) => void>();

  emit(ev: ControlEvent): void {
    for (const l of this.listeners) {
      try {
        l(ev);
      } catch (err) {
        console.error('event listener failed', err);
      }
    }
  }

  on(cb: (ev: ControlEvent) => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
