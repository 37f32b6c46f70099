// Debug consoles (SPEC 1, 11): "Debug" on a service restarts it in debug mode and opens a
// window streaming its trace; closing the window restarts it normally. The renderer asks
// with window.open('#debug=<service>'); the main process decides here, so a renderer can
// only ever open our own page, and one console per service.
import type { ServiceName } from '../services/control/api.js';

const SERVICES: readonly ServiceName[] = ['receiver', 'delivery'];

/** The service a window.open URL asks a console for: our own index.html with `#debug=<name>`. */
export function debugServiceFromUrl(url: string, appIndexUrl: string): ServiceName | null {
  let u: URL;
  let app: URL;
  try {
    u = new URL(url);
    app = new URL(appIndexUrl);
  } catch {
    return null;
  }
  const samePage =
    (u.protocol === 'file:' && app.protocol === 'file:' && decodeURIComponent(u.pathname) === decodeURIComponent(app.pathname)) ||
    ((u.protocol === 'http:' || u.protocol === 'https:') && u.origin === app.origin);
  if (!samePage) return null;
  const name = new URLSearchParams(u.hash.slice(1)).get('debug');
  return SERVICES.find((s) => s === name) ?? null;
}

/** What the controller needs of a BrowserWindow. */
export interface ConsoleWindow {
  focus(): void;
  once(event: 'closed', listener: () => void): unknown;
}

export interface DebugRestarter {
  restart(name: ServiceName, opts?: { debug?: boolean }): Promise<unknown>;
}

export class DebugConsoles<W extends ConsoleWindow> {
  private readonly open_ = new Map<ServiceName, W>();
  private closing = false;

  constructor(
    private readonly supervisor: DebugRestarter,
    private readonly createWindow: (service: ServiceName) => W,
    private readonly onError: (service: ServiceName, err: unknown) => void = () => {},
  ) {}

  get windows(): ReadonlyMap<ServiceName, W> {
    return this.open_;
  }

  /** Open (or bring forward) the console of a service; restarts it in debug mode. */
  open(service: ServiceName): W {
    const existing = this.open_.get(service);
    if (existing) {
      existing.focus();
      return existing;
    }
    const win = this.createWindow(service);
    this.open_.set(service, win);
    win.once('closed', () => {
      this.open_.delete(service);
      // When the app quits, the supervisor stops everything; no restart then.
      if (!this.closing) this.supervisor.restart(service, { debug: false }).catch((err) => this.onError(service, err));
    });
    this.supervisor.restart(service, { debug: true }).catch((err) => this.onError(service, err));
    return win;
  }

  /** The app is quitting: closing consoles must not restart services any more. */
  shutdown(): void {
    this.closing = true;
  }
}
