// Registers the one IPC channel `sekisho:call` (ipcMain.handle) over the ControlApi.
// All checks are in ipc-policy.ts; this is the thin Electron side.
import type { IpcMain } from 'electron';
import type { ControlApi } from '../services/control/api.js';
import { CALL_CHANNEL, dispatchCall, type TrustedOrigins } from './ipc-policy.js';

export function registerIpc(ipcMain: IpcMain, api: ControlApi, trusted: TrustedOrigins): () => void {
  ipcMain.handle(CALL_CHANNEL, (event, method: unknown, args: unknown) =>
    // senderFrame is the frame that sent it (null once it navigated away or was destroyed).
    dispatchCall(api, event.senderFrame?.url, trusted, method, args),
  );
  return () => ipcMain.removeHandler(CALL_CHANNEL);
}
