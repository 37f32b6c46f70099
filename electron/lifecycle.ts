// First-run robustness of the desktop app (issue 16), the decisions apart from Electron so they
// are tested under Node (test/electron/lifecycle.test.ts):
// - a second launch while the first is still starting asks for the window before it exists;
// - the main window's `close` hides it to the tray, except when the app quits or Windows ends
//   the session (logoff, shutdown): a handler that always cancels would hold up logoff;
// - a startup failure is written to a log file (a GUI app's stdout goes nowhere) and shown.
import { appendFileSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** "Show the window" requests that may come before the window can exist. */
export class DeferredShow {
  private pending = false;
  private show: (() => void) | null = null;

  /** A second instance (or the tray) asks for the window. */
  request(): void {
    if (this.show) this.show();
    else this.pending = true;
  }

  /** The window can be shown from now on; a request that came earlier is served now. */
  ready(show: () => void): void {
    this.show = show;
    if (this.pending) {
      this.pending = false;
      show();
    }
  }
}

export interface CloseState {
  /** app.quit() was asked (tray Quit, before-quit seen). */
  quitting: boolean;
  /** Windows asked to end the session (query-session-end / session-end). */
  sessionEnding: boolean;
}

/** What the main window's `close` does: hide to the tray, or let it close. */
export function closeAction(s: CloseState): 'hide' | 'close' {
  return s.quitting || s.sessionEnding ? 'close' : 'hide';
}

/**
 * The app's own log (userData\sekisho-app.log): one line each with the time; the file is
 * moved to .1 past `maxBytes`, so it never grows without bound. Never throws: a log that cannot
 * be written must not be the reason the app does not start.
 */
export function openAppLog(dir: string, opts: { maxBytes?: number; name?: string } = {}): { path: string; write(line: string): void } {
  const path = join(dir, opts.name ?? 'sekisho-app.log');
  const max = opts.maxBytes ?? 1024 * 1024;
  return {
    path,
    write(line: string) {
      try {
        mkdirSync(dir, { recursive: true });
        try {
          if (statSync(path).size > max) renameSync(path, `${path}.1`);
        } catch {
          // No file yet.
        }
        appendFileSync(path, `${new Date().toISOString()} ${line.replace(/\r?\n/g, '\n    ')}\n`);
      } catch {
        // Nowhere to write: the dialog still shows the failure.
      }
    },
  };
}

/** The text of the startup-failure dialog (Japanese and English: SPEC, both languages). */
export function startupFailureText(locale: string, err: unknown, logPath: string): { title: string; body: string } {
  const msg = err instanceof Error ? err.message : String(err);
  if (locale.toLowerCase().startsWith('ja')) {
    return { title: 'Sekisho を起動できません', body: `${msg}\n\n詳細はログファイルにあります:\n${logPath}` };
  }
  return { title: 'Sekisho could not start', body: `${msg}\n\nDetails are in the log file:\n${logPath}` };
}
