// Attach or supervise (SPEC 1, issue 16): at start the app looks for a running `sekisho serve`
// (the Windows service) on control.bind:control.port of its work folder. If one answers and
// the control secret opens it, the app is a client of it: Quit closes only the app. With no
// service installed (portable, development) and nothing answering, the app supervises the
// receiver and delivery itself, as serve does. Pure: the probe is done by the caller.
import { win32, resolve } from 'node:path';
import type { ControlProbe } from '../services/control/client.js';
import type { ControlApi } from '../services/control/api.js';
import { ControlError } from '../services/control/errors.js';

export type AppMode =
  | { mode: 'attach'; waiting: boolean; reason: string }
  | { mode: 'supervise'; reason: string }
  | { mode: 'refuse'; reason: string };

export interface AttachInput {
  /** What answered on the configured control port (services/control/client.ts probeControl). */
  probe: ControlProbe;
  /** The work folder this app manages. */
  workdir: string;
  /** The installer registered the Windows service (its XML is beside the app). */
  serviceInstalled: boolean;
  /** The control secret could be read (null: missing or unreadable, e.g. not elevated). */
  secretFound: boolean;
  platform: NodeJS.Platform;
  /** control.bind:control.port, for the messages. */
  address: string;
}

export function sameFolder(a: string, b: string, platform: NodeJS.Platform): boolean {
  if (platform === 'win32') return win32.resolve(a).replace(/\\+$/, '').toLowerCase() === win32.resolve(b).replace(/\\+$/, '').toLowerCase();
  return resolve(a).replace(/\/+$/, '') === resolve(b).replace(/\/+$/, '');
}

export function decideAppMode(i: AttachInput): AppMode {
  const p = i.probe;
  if (p.kind === 'sekisho' && p.authorized) {
    if (sameFolder(p.version.workdir, i.workdir, i.platform)) {
      return { mode: 'attach', waiting: false, reason: `attached to the Sekisho service at ${i.address} (${p.version.workdir})` };
    }
    // Another gateway's serve: supervising ours would fight it for the ports.
    return { mode: 'refuse', reason: `the Sekisho at ${i.address} serves ${p.version.workdir}, not ${i.workdir}` };
  }
  if (p.kind === 'sekisho') {
    // A running gateway we may not control: never start a second supervisor on its folder.
    return {
      mode: 'refuse',
      reason: i.secretFound
        ? `the Sekisho service at ${i.address} refused this app's control secret (${p.detail})`
        : `a Sekisho service runs at ${i.address} but the control secret of ${i.workdir} cannot be read: start Mail Control as an administrator`,
    };
  }
  if (i.serviceInstalled) {
    // Installed: mail is the service's job (starting after boot, or restarting). The app waits
    // for it and re-connects by itself; it never starts a second set of services.
    return { mode: 'attach', waiting: true, reason: `waiting for the Sekisho service at ${i.address} (${p.detail})` };
  }
  return { mode: 'supervise', reason: p.kind === 'none' ? 'no Sekisho service is running: the app runs the mail services itself' : `control port ${i.address}: ${p.detail}; the app runs the mail services itself` };
}

/**
 * The ControlApi the windows get when attached: the service's, except `shutdown`. Stopping the
 * gateway is the service manager's job (net stop, Services), which also keeps Windows' view of
 * the service right; a window that could stop it would leave a "running" service with no mail.
 */
export function attachedApi(remote: ControlApi, serviceId = 'SekishoGateway'): ControlApi {
  return Object.assign(Object.create(remote) as ControlApi, {
    shutdown: () => Promise.reject(new ControlError(409, `the mail service runs as a Windows service: stop it with net stop ${serviceId} or in Services`)),
  });
}
