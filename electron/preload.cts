// The preload of every Sekisho window (sandboxed, so CommonJS: a sandboxed preload cannot be
// an ES module). It exposes exactly two functions to the page and nothing of Node or
// Electron: `call(method, ...args)` over the one channel `sekisho:call`, and `onEvent(cb)`
// for the pushed ControlEvents. The main process checks every call again (ipc-policy.ts).
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';

const CALL_CHANNEL = 'sekisho:call';
const EVENT_CHANNEL = 'sekisho:event';

contextBridge.exposeInMainWorld('sekisho', {
  call(method: string, ...args: unknown[]): Promise<unknown> {
    return ipcRenderer.invoke(CALL_CHANNEL, String(method), args);
  },
  onEvent(cb: (ev: unknown) => void): () => void {
    // Never hand the IPC event object to the page: it carries `sender` (the ipcRenderer).
    const listener = (_e: IpcRendererEvent, ev: unknown) => cb(ev);
    ipcRenderer.on(EVENT_CHANNEL, listener);
    return () => {
      ipcRenderer.removeListener(EVENT_CHANNEL, listener);
    };
  },
});
