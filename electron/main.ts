// The desktop app's main process (SPEC 1): one instance; supervises receiver and delivery;
// serves the ControlApi to its windows over one IPC channel; lives in the tray so closing
// the window never stops mail; quitting stops the services cleanly.
//
// Everything with a decision in it lives in plain modules (workdir.ts, ipc-policy.ts,
// event-routing.ts, debug-console.ts) tested under Node; this file only wires Electron.
import { app, BrowserWindow, ipcMain } from 'electron';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Supervisor } from '../services/supervisor/index.js';
import { createControlApi } from '../services/control/handlers.js';
import { ControlEventBus } from '../services/control/events.js';
import { watchWorkFolder } from '../services/control/file-events.js';
import { initWorkdir } from '../services/config/init.js';
import { workPaths } from '../services/config/paths.js';
import type { ControlEvent, ServiceName } from '../services/control/api.js';
import { chooseWorkdir } from './workdir.js';
import { EVENT_CHANNEL, type TrustedOrigins } from './ipc-policy.js';
import { registerIpc } from './ipc.js';
import { eventTargets } from './event-routing.js';
import { DebugConsoles } from './debug-console.js';
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

function log(line: string): void {
  process.stdout.write(`sekisho: ${line}\n`);
}

if (!app.requestSingleInstanceLock()) {
  // Another Sekisho already supervises the services: it shows its window instead.
  app.quit();
} else {
  void main().catch((err) => {
    log(`startup failed: ${(err as Error).stack ?? err}`);
    app.exit(1);
  });
}

async function main(): Promise<void> {
  let mainWindow: BrowserWindow | null = null;
  let quitting = false;

  const showMain = () => {
    if (!mainWindow || mainWindow.isDestroyed()) mainWindow = openMain();
    if (mainWindow.isMinimized()) mainWindow.restore();
    mainWindow.show();
    mainWindow.focus();
  };
  app.on('second-instance', showMain);

  await app.whenReady();
  // Windows groups the taskbar button and the tray under this id (the installer's appId).
  if (process.platform === 'win32') app.setAppUserModelId('jp.sekisho.gateway');

  // First run: a work folder with commented defaults (SPEC 9 `init`).
  if (!existsSync(workPaths(workdir).settings)) {
    await initWorkdir(workdir);
    log(`initialized ${workdir}`);
  }

  const supervisor = new Supervisor({ workdir });
  const bus = new ControlEventBus();
  bus.pipeFrom(supervisor);
  const api = createControlApi({ workdir, supervisor, electronVersion: process.versions.electron });
  const folder = watchWorkFolder(workdir, api, (e) => bus.publish(e));
  const unregister = registerIpc(ipcMain, api, trusted);

  const ctx: WindowContext = {
    preload: join(here, 'preload.cjs'),
    pageUrl,
    trusted,
    icon: existsSync(icon) ? icon : undefined,
    openDebug: (service: ServiceName) => consoles.open(service),
  };
  const consoles = new DebugConsoles(supervisor, (service) => createDebugWindow(ctx, service), (service, err) =>
    log(`${service}: debug restart failed: ${(err as Error).message}`),
  );

  bus.on('event', (ev: ControlEvent) => {
    for (const w of eventTargets(ev, { main: mainWindow, debug: consoles.windows })) {
      if (!w.isDestroyed()) w.webContents.send(EVENT_CHANNEL, ev);
    }
  });

  function openMain(): BrowserWindow {
    const win = createMainWindow(ctx);
    // Closing the window hides it: the tray keeps the services (and mail) running.
    win.on('close', (e) => {
      if (!quitting) {
        e.preventDefault();
        win.hide();
      }
    });
    win.on('closed', () => {
      if (mainWindow === win) mainWindow = null;
    });
    return win;
  }

  const tray = createTray({ icon, locale: app.getLocale(), onOpen: showMain, onQuit: () => app.quit() });
  // With every window hidden or closed the app stays in the tray (no quit on all closed).
  app.on('window-all-closed', () => {});

  let stopped = false;
  app.on('before-quit', (e) => {
    quitting = true;
    if (stopped) return;
    // Stop the services cleanly (SIGTERM, grace period) before the process goes.
    e.preventDefault();
    consoles.shutdown();
    void (async () => {
      try {
        folder.close();
        unregister();
        await supervisor.close();
      } finally {
        stopped = true;
        tray.destroy();
        app.quit();
      }
    })();
  });
  // Whatever happens, no child may outlive the app.
  process.on('exit', () => supervisor.killAllSync());

  mainWindow = openMain();
  await Promise.all(supervisor.services().map((n) => supervisor.start(n).catch((err) => log(`${n}: ${(err as Error).message}`))));
  log(`ready workdir=${workdir}`);
}
