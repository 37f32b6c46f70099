// ApiClient over the Electron preload bridge (`window.sekisho`, contextIsolation on).
import { ApiError, type ApiClient, type PreloadBridge } from './client.js';
import type { ControlEvent } from './types.js';

export function preloadClient(bridge: PreloadBridge): ApiClient {
  return {
    kind: 'electron',
    async call(method, ...args) {
      try {
        return (await bridge.call(method, ...args)) as never;
      } catch (err) {
        // Electron prefixes handler errors with "Error invoking remote method '…': ".
        const msg = String((err as Error)?.message ?? err).replace(/^Error invoking remote method '[^']*': (Error: )?/, '');
        throw new ApiError(msg, method);
      }
    },
    onEvent(cb) {
      return bridge.onEvent((ev) => cb(ev as ControlEvent));
    },
  };
}
