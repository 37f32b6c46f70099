// The windows of the desktop app, all with the same locked-down web preferences (SPEC 11:
// context isolation on, node integration off, sandbox on), and a guard on every page that
// keeps it on our own index.html.
import { BrowserWindow, shell, type WebContents } from 'electron';
import type { ServiceName } from '../services/control/api.js';
import { isTrustedSender, type TrustedOrigins } from './ipc-policy.js';
import { debugServiceFromUrl } from './debug-console.js';

export function secureWebPreferences(preload: string): Electron.WebPreferences {
  return {
    preload,
    contextIsolation: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    sandbox: true,
    webSecurity: true,
    allowRunningInsecureContent: false,
    webviewTag: false,
    spellcheck: false,
  };
}

export interface WindowContext {
  preload: string;
  /** The URL the windows load (file:// index.html, or the dev server). */
  pageUrl: string;
  trusted: TrustedOrigins;
  icon?: string;
  /** window.open('#debug=<service>') from a page: open that service's debug console. */
  openDebug: (service: ServiceName) => void;
}

/** Keep a page on our own UI: no navigation elsewhere, no new windows but debug consoles. */
export function guardContents(contents: WebContents, ctx: WindowContext): void {
  const stayHome = (e: Electron.Event, url: string) => {
    if (!isTrustedSender(url, ctx.trusted)) e.preventDefault();
  };
  contents.on('will-navigate', stayHome);
  contents.on('will-redirect', stayHome);
  contents.setWindowOpenHandler(({ url }) => {
    const service = debugServiceFromUrl(url, ctx.pageUrl);
    if (service) ctx.openDebug(service);
    // An https link (e.g. documentation) opens in the system browser, never in the app.
    else if (/^https:\/\//i.test(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
  contents.on('will-attach-webview', (e) => e.preventDefault());
  contents.session.setPermissionRequestHandler((_wc, _perm, done) => done(false));
}

export function createMainWindow(ctx: WindowContext): BrowserWindow {
  const win = new BrowserWindow({
    width: 1280,
    height: 800,
    minWidth: 960,
    minHeight: 600,
    show: false,
    title: 'Sekisho Mail Control',
    icon: ctx.icon,
    autoHideMenuBar: true,
    webPreferences: secureWebPreferences(ctx.preload),
  });
  guardContents(win.webContents, ctx);
  win.once('ready-to-show', () => win.show());
  void win.loadURL(ctx.pageUrl);
  return win;
}

export function createDebugWindow(ctx: WindowContext, service: ServiceName): BrowserWindow {
  const win = new BrowserWindow({
    width: 960,
    height: 600,
    title: `Sekisho debug — ${service}`,
    icon: ctx.icon,
    autoHideMenuBar: true,
    backgroundColor: '#1e1e1e',
    webPreferences: secureWebPreferences(ctx.preload),
  });
  guardContents(win.webContents, ctx);
  const url = new URL(ctx.pageUrl);
  url.hash = `debug=${service}`;
  void win.loadURL(url.toString());
  return win;
}
