// What every component needs: the API client, the language, and the pushed events.
import { getContext, setContext } from 'svelte';
import type { ApiClient } from './api/client.js';
import type { ControlEvent } from './api/types.js';
import type { I18n } from './i18n/i18n.svelte.js';
import type { ConfigHealth } from './state/health.svelte.js';

export interface AppContext {
  api: ApiClient;
  i18n: I18n;
  /** Subscribe to pushed events (one shared subscription to the API); returns unsubscribe. */
  onEvent(cb: (ev: ControlEvent) => void): () => void;
  /** Open a service's debug console (a window in Electron, a panel in the browser). */
  openDebug(service: 'receiver' | 'delivery'): void;
  /** Errors and warnings of the configuration (shared by the header and the overview). */
  health: ConfigHealth;
  /** Show another tab (the overview links to the queue, the logs, a table). */
  go(tab: string): void;
  /**
   * Register an "unsaved edits" test for the component's lifetime: the app asks before the
   * page is reloaded or closed while any says yes (issue 13: no lost edits). Returns unregister.
   */
  trackDirty(isDirty: () => boolean): () => void;
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
