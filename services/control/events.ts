// One stream of ControlEvents for the UI, fed by the supervisor (status, debug) and the
// file watchers (config, queue, log). The HTTP server turns it into server-sent events,
// the Electron main process into IPC events.
import { EventEmitter } from 'node:events';
import type { ControlEvent } from './api.js';

/** Anything that emits `'event'` with a ControlEvent (the Supervisor, a ControlEventBus). */
export interface ControlEventSource {
  on(event: 'event', listener: (e: ControlEvent) => void): unknown;
  off(event: 'event', listener: (e: ControlEvent) => void): unknown;
  /** Where present, a UI client subscribes through this (so the source can count them). */
  subscribe?(listener: (e: ControlEvent) => void): () => void;
}

export class ControlEventBus extends EventEmitter implements ControlEventSource {
  constructor() {
    super();
    // Every open UI window / SSE client is one listener.
    this.setMaxListeners(0);
  }

  publish(e: ControlEvent): void {
    this.emit('event', e);
  }

  /** Forward every event of another source; returns the function that stops it. */
  pipeFrom(source: ControlEventSource): () => void {
    const forward = (e: ControlEvent) => this.publish(e);
    source.on('event', forward);
    return () => source.off('event', forward);
  }

  /** UI clients (SSE streams, windows) subscribed right now. */
  get subscribers(): number {
    return this.subscriberCount;
  }
  private subscriberCount = 0;

  /** A UI client's subscription; `'subscribers'` is emitted with the new count. */
  subscribe(listener: (e: ControlEvent) => void): () => void {
    this.on('event', listener);
    this.subscriberCount++;
    this.emit('subscribers', this.subscriberCount);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.off('event', listener);
      this.subscriberCount--;
      this.emit('subscribers', this.subscriberCount);
    };
  }
}
