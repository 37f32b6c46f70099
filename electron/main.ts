// The desktop app's main process (SPEC 1): one instance per user; serves the ControlApi to its
// windows over one IPC channel; lives in the tray so closing the window never stops mail.
// Who runs the mail (issue 16, electron/attach.ts): when the Windows service (`sekisho serve`)
// answers on control.bind:control.port and accepts the control secret, the app is an HTTP
// client of it and Quit closes only the app. With no service installed it supervises receiver
// and delivery itself, as serve does, and Quit stops them cleanly.
//
// Everything with a decision in it lives in plain modules (workdir.ts, attach.ts, lifecycle.ts,
// ipc-policy.ts, event-routing.ts, debug-console.ts) tested under Node; this file only wires Electron.
import { app, BrowserWindow, dialog, ipcMain } from 'electron';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Supervisor } from '../services/supervisor/index.js';
import { createControlApi } from '../services/control/handlers.js';
import { ControlEventBus, type ControlEventSource } from '../services/control/events.js';
import { watchWorkFolder } from '../services/control/file-events.js';
import { connectControl, probeControl } from '../services/control/client.js';
import { readControlSecret } from '../services/control/secret.js';
import { initWorkdir } from '../services/config/init.js';
import { workPaths } from '../services/config/paths.js';
import { readSettingsFile } from '../services/config/settings-file.js';
import type { ControlApi, ControlEvent, ServiceName } from '../services/control/api.js';
import { chooseWorkdir } from './workdir.js';
import { attachedApi, decideAppMode, type AppMode } from './attach.js';
import { DeferredShow, closeAction, openAppLog, startupFailureText } from './lifecycle.js';
import { EVENT_CHANNEL, type TrustedOrigins } from './ipc-policy.js';
import { registerIpc } from './ipc.js';
import { eventTargets } from './event-routing.js';
import { DebugConsoles, type DebugRestarter } from './debug-console.js';
import { createDebugWindow, createMainWindow, type WindowContext } from './windows.js';
import { createTray } from './tray.js';

const here = dirname(fileURLToPath(import.meta.url)); // dist/electron
const root = join(here, '..', '..'); // the app (app.asar when packaged)
const indexHtml = join(here, '..', 'renderer', 'index.html');
const icon = join(root, 'resources', 'icons', 'icon.png');
// The Vite dev server, only for an unpackaged app started by a developer.
const devServer = !app.isPackaged ? (process.env.SEKISHO_DEV_SERVER ?? null) : null;
const pageUrl = devServer ?? pathToFileURL(indexHtml).toString();
const trusted: TrustedOrigins = { appIndexUrl: pathToFileURL(indexHtml).toString(), devServerUrl: devServer };

const workdir = chooseWorkdir({ argv: process.argv.slice(1), platform: process.platform, homedir: homedir(), cwd: process.cwd() });

// A GUI app's stdout goes nowhere on Windows: every line also goes to userData\sekisho-app.log.
const appLog = openAppLog(app.getPath('userData'));
function log(line: string): void {
  appLog.write(line);
  try {
    process.stdout.write(`sekisho: ${line}\n`);
  } catch {
    // No console (a GUI launch): the log file has it.
  }
}

/** The installer registered the Windows service: its XML sits beside the packaged app. */
function serviceInstalled(): boolean {
  return app.isPackaged && process.platform === 'win32' && existsSync(join(process.resourcesPath, 'service', 'SekishoService.xml'));
}

/** Who runs the mail: the service (attach) or this app (supervise). */
interface Backend {
  api: ControlApi;
  events: ControlEventSource;
  restarter: DebugRestarter;
  attached: boolean;
  /** Start what this app runs (supervise: the services; attach: nothing). */
  start(): Promise<void>;
  /** Quit: supervise stops the services; attach closes the connection (services keep running). */
  close(): Promise<void>;
  killAllSync(): void;
}

const shows = new DeferredShow();
if (!app.requestSingleInstanceLock()) {
  // Another Sekisho of this user is running: it shows its window instead.
  app.quit();
} else {
  // Registered at once: a second launch while this one is still starting must not crash it;
  // the request is kept until the window exists (lifecycle.ts DeferredShow).
  app.on('second-instance', () => shows.request());
  void main().catch(async (err) => {
    log(`startup failed: ${(err as Error).stack ?? err}`);
    try {
      await app.whenReady();
      const t = startupFailureText(app.getLocale(), err, appLog.path);
      dialog.showErrorBox(t.title, t.body);
    } finally {
      app.exit(1);
    }
  });
}

async function chooseBackend(): Promise<{ backend: Backend; mode: AppMode }> {
  const settingsFile = existsSync(workPaths(workdir).settings) ? await readSettingsFile(workdir) : null;
  const control = settingsFile?.settings?.control ?? null;
  const installed = serviceInstalled();
  const secret = readControlSecret(workdir);
  const probe = control
    ? await probeControl({ host: control.bind, port: control.port, token: secret || control.password || null })
    : ({ kind: 'none', detail: `no settings.json in ${workdir}` } as const);
  const address = control ? `${control.bind}:${control.port}` : '(no control port)';
  const mode = decideAppMode({ probe, workdir, serviceInstalled: installed, secretFound: !!secret, platform: process.platform, address });
  log(`${mode.mode}: ${mode.reason}`);
  if (mode.mode === 'refuse') throw new Error(mode.reason);

  if (mode.mode === 'attach' && control) {
    const remote = connectControl({ host: control.bind, port: control.port, token: secret || control.password || null });
    remote.on('connection', (state: 'up' | 'down') => log(`service connection ${state}`));
    // The windows may not stop the service: that is the service manager's job (net stop).
    const api = attachedApi(remote);
    return {
      mode,
      backend: {
        api,
        events: remote,
        restarter: { restart: (name, opts) => remote.restartService(name, opts) },
        attached: true,
        start: async () => {},
        close: async () => remote.close(),
        killAllSync: () => {},
      },
    };
  }
  if (mode.mode === 'attach') throw new Error(`the Sekisho service is installed but ${workdir} has no settings.json`);

  // Supervise. First run: a work folder with commented defaults (SPEC 9 `init`).
  if (!settingsFile) {
    await initWorkdir(workdir);
    log(`initialized ${workdir}`);
  }
  const supervisor = new Supervisor({ workdir });
  const bus = new ControlEventBus();
  bus.pipeFrom(supervisor);
  const api = createControlApi({ workdir, supervisor, electronVersion: process.versions.electron });
  const folder = watchWorkFolder(workdir, api, (e) => bus.publish(e));
  return {
    mode,
    backend: {
      api,
      events: bus,
      restarter: supervisor,
      attached: false,
      start: async () => {
        await Promise.all(supervisor.services().map((n) => supervisor.start(n).catch((err) => log(`${n}: ${(err as Error).message}`))));
      },
      close: async () => {
        folder.close();
        await supervisor.close();
      },
      killAllSync: () => supervisor.killAllSync(),
    },
  };
}

async function main(): Promise<void> {
  let mainWindow: BrowserWindow | null = null;
  const state = { quitting: false, sessionEnding: false };

  await app.whenReady();
  // Windows groups the taskbar button and the tray under this id (the installer's appId).
  if (process.platform === 'win32') app.setAppUserModelId('jp.sekisho.gateway');

  const { backend } = await chooseBackend();
  const unregister = registerIpc(ipcMain, backend.api, trusted);

  const ctx: WindowContext = {
    preload: join(here, 'preload.cjs'),
    pageUrl,
    trusted,
    icon: existsSync(icon) ? icon : undefined,
    openDebug: (service: ServiceName) => consoles.open(service),
  };
  const consoles = new DebugConsoles(backend.restarter, (service) => createDebugWindow(ctx, service), (service, err) =>
    log(`${service}: debug restart failed: ${(err as Error).message}`),
  );

  backend.events.on('event', (ev: ControlEvent) => {
    for (const w of eventTargets(ev, { main: mainWindow, debug: consoles.windows })) {
      if (!w.isDestroyed()) w.webContents.send(EVENT_CHANNEL, ev);
    }
  });

  function openMain(): BrowserWindow {
    const win = createMainWindow(ctx);
    // Closing the window hides it: the tray keeps the app (and, supervising, the mail) running.
    // Not when quitting or when Windows ends the session: a cancelled close would hold up
    // logoff and shutdown.
    win.on('close', (e) => {
      if (closeAction(state) === 'hide') {
        e.preventDefault();
        win.hide();
      }
    });
    // Windows only: logoff or shutdown asks first (query-session-end), then ends (session-end).
    win.on('query-session-end', () => {
      state.sessionEnding = true;
    });
    win.on('session-end', () => {
      state.sessionEnding = true;
      log('the Windows session ends');
      app.quit();
    });
    win.on('closed', () => {
      if (mainWindow === win) mainWindow = null;
    });
    return win;
  }

  const showMain = () => {
    if (!mainWindow || mainWindow.isDestroyed()) mainWindow = openMain();
    if (mainWindow.isMinimized()) mainWindow.restore();
    mainWindow.show();
    mainWindow.focus();
  };

  const tray = createTray({ icon, locale: app.getLocale(), attached: backend.attached, onOpen: () => shows.request(), onQuit: () => app.quit() });
  // With every window hidden or closed the app stays in the tray (no quit on all closed).
  app.on('window-all-closed', () => {});

  let stopped = false;
  app.on('before-quit', (e) => {
    state.quitting = true;
    if (stopped) return;
    e.preventDefault();
    const openConsoles = [...consoles.windows.keys()];
    consoles.shutdown();
    void (async () => {
      try {
        unregister();
        if (backend.attached) {
          // The service outlives the app: do not leave it in debug mode behind a closed console.
          await Promise.race([
            Promise.all(openConsoles.map((s) => backend.restarter.restart(s, { debug: false }).catch(() => {}))),
            new Promise((r) => setTimeout(r, 5000)),
          ]);
        }
        // Supervising: stop the services cleanly (graceful stop, grace period).
        await backend.close();
      } catch (err) {
        log(`quit: ${(err as Error).message}`);
      } finally {
        stopped = true;
        tray.destroy();
        app.quit();
      }
    })();
  });
  // Whatever happens, no child may outlive the app.
  process.on('exit', () => backend.killAllSync());

  mainWindow = openMain();
  shows.ready(showMain);
  await backend.start();
  log(`ready workdir=${workdir} mode=${backend.attached ? 'attached' : 'supervising'}`);
}
