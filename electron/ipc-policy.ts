// The rules of the one IPC channel between the renderer and the main process, as plain
// functions (testable under Node without the Electron binary). The preload can only call
// `sekisho:call`; whatever reaches the main process is checked again here, because a
// compromised renderer could send anything.
import { CONTROL_METHODS, type ControlApi } from '../services/control/api.js';

export const CALL_CHANNEL = 'sekisho:call';
export const EVENT_CHANNEL = 'sekisho:event';

export type ControlMethod = (typeof CONTROL_METHODS)[number];

const METHODS: ReadonlySet<string> = new Set(CONTROL_METHODS);

export function isControlMethod(method: unknown): method is ControlMethod {
  return typeof method === 'string' && METHODS.has(method);
}

export interface TrustedOrigins {
  /** file:// URL of dist/renderer/index.html. */
  appIndexUrl: string;
  /** The Vite dev server while developing (`SEKISHO_DEV_SERVER`), never in a packaged app. */
  devServerUrl?: string | null;
}

/** The page a URL shows, without query and hash (`file:///…/index.html#debug=x` → the file). */
function pageOf(url: string): URL | null {
  try {
    const u = new URL(url);
    u.hash = '';
    u.search = '';
    return u;
  } catch {
    return null;
  }
}

/** Only our own page may call: the bundled index.html, or the dev server's origin. */
export function isTrustedSender(url: string | null | undefined, trusted: TrustedOrigins): boolean {
  if (!url) return false;
  const page = pageOf(url);
  if (!page) return false;
  if (page.protocol === 'file:') {
    const app = pageOf(trusted.appIndexUrl);
    return app !== null && app.protocol === 'file:' && decodeURIComponent(page.pathname) === decodeURIComponent(app.pathname);
  }
  if (trusted.devServerUrl) {
    const dev = pageOf(trusted.devServerUrl);
    return dev !== null && (page.protocol === 'http:' || page.protocol === 'https:') && page.origin === dev.origin;
  }
  return false;
}

const MAX_DEPTH = 16;
const MAX_NODES = 200_000;

/**
 * Arguments must be a JSON value: an array of null, booleans, finite numbers, strings,
 * arrays and plain objects (no prototypes to pollute, no functions, no cycles), bounded in
 * depth and size. Returns the reason when not, else null.
 */
export function argsProblem(args: unknown): string | null {
  if (!Array.isArray(args)) return 'arguments must be an array';
  let nodes = 0;
  const seen = new Set<object>();
  const visit = (v: unknown, depth: number, path: string): string | null => {
    if (++nodes > MAX_NODES) return 'arguments too large';
    if (depth > MAX_DEPTH) return `arguments nested too deep at ${path}`;
    if (v === null || typeof v === 'boolean' || typeof v === 'string') return null;
    if (typeof v === 'number') return Number.isFinite(v) ? null : `${path} is not a finite number`;
    if (typeof v !== 'object') return `${path} is a ${typeof v}, not JSON`;
    if (seen.has(v)) return `${path} is a cycle`;
    seen.add(v);
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const p = visit(v[i], depth + 1, `${path}[${i}]`);
        if (p) return p;
      }
    } else {
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) return `${path} is not a plain object`;
      for (const k of Object.keys(v)) {
        if (k === '__proto__' || k === 'constructor' || k === 'prototype') return `${path} has a forbidden key "${k}"`;
        const p = visit((v as Record<string, unknown>)[k], depth + 1, `${path}.${k}`);
        if (p) return p;
      }
    }
    seen.delete(v);
    return null;
  };
  return visit(args, 0, 'args');
}

export class IpcRefused extends Error {}

/** Check one call and run it on the API. Throws IpcRefused for a call that is not allowed. */
export async function dispatchCall(
  api: ControlApi,
  senderUrl: string | null | undefined,
  trusted: TrustedOrigins,
  method: unknown,
  args: unknown,
): Promise<unknown> {
  if (!isTrustedSender(senderUrl, trusted)) throw new IpcRefused('call refused: not from the Sekisho window');
  if (!isControlMethod(method)) throw new IpcRefused(`call refused: unknown method ${JSON.stringify(String(method)).slice(0, 80)}`);
  const problem = argsProblem(args);
  if (problem) throw new IpcRefused(`call refused: ${problem}`);
  const fn = api[method] as (...a: unknown[]) => Promise<unknown>;
  return fn.apply(api, args as unknown[]);
}
