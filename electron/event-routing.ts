// Which window receives which pushed event: debug lines go to the debug console of that
// service only (they can be many); everything else goes to the main window.
import type { ControlEvent, ServiceName } from '../services/control/api.js';

export interface EventWindows<W> {
  main: W | null;
  debug: ReadonlyMap<ServiceName, W>;
}

export function eventTargets<W>(ev: ControlEvent, windows: EventWindows<W>): W[] {
  if (ev.type === 'debug') {
    const w = windows.debug.get(ev.service);
    return w ? [w] : [];
  }
  return windows.main ? [windows.main] : [];
}
