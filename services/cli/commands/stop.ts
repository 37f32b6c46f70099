// `sekisho stop --workdir DIR [--timeout SEC]`: stop the `sekisho serve` running on a work
// folder the graceful way, from any shell, on every platform (the Windows service's stop
// command). It reads serve.json (pid and control address; else control.bind/port from
// settings.json) and control.secret, calls the control API's `shutdown` with the secret, and
// waits until the serve process is gone. serve then asks its children to stop (messages in DATA
// and delivery attempts in flight finish; a child still there after its grace period is killed
// and serve says so), and exits 0.
//
// Exit codes (also in docs/guide.md):
//   0  serve stopped within the timeout
//   1  nothing to stop (no serve on this folder) or the request failed (refused, no answer)
//   2  usage error (as every sekisho command)
//   3  serve did not exit within --timeout and was killed (its children stop through their
//      parent guard)
import { unlinkSync } from 'node:fs';
import { resolve } from 'node:path';
import { opt, requireOpt, UsageError, type ParsedArgs } from '../args.js';
import { readControlSecret } from '../../control/secret.js';
import { readServeState, serveStatePath } from '../../control/serve-state.js';
import { readSettingsFile } from '../../config/settings-file.js';
import { killProcessSync, processAlive } from '../../supervisor/kill-tree.js';

/** The supervisor's grace (20 s) for the slowest child, plus room for serve's own exit. */
const DEFAULT_TIMEOUT_S = 60;
const REQUEST_TIMEOUT_MS = 10_000;
const POLL_MS = 100;

const say = (line: string) => process.stdout.write(`${line}\n`);
const fail = (line: string) => process.stderr.write(`sekisho stop: ${line}\n`);

async function controlUrl(workdir: string): Promise<string | null> {
  const f = await readSettingsFile(workdir).catch(() => null);
  if (!f?.settings) return null;
  const { bind, port } = f.settings.control;
  const host = bind === '0.0.0.0' || bind === '::' ? '127.0.0.1' : bind;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}/`;
}

/** POST /api/shutdown. null when it was accepted, else the reason. 'unreachable' when nothing answers. */
async function askShutdown(url: string, secret: string): Promise<string | null> {
  let res: Response;
  try {
    res = await fetch(new URL('api/shutdown', url), {
      method: 'POST',
      headers: { Authorization: `Bearer ${secret}`, 'Content-Type': 'application/json' },
      body: '{"args":[]}',
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch {
    return 'unreachable';
  }
  const body = (await res.json().catch(() => null)) as { ok?: boolean; error?: string } | null;
  if (res.ok && body?.ok) return null;
  return `${res.status} ${body?.error ?? res.statusText}`;
}

async function answers(url: string): Promise<boolean> {
  try {
    await fetch(new URL('api/session', url), { signal: AbortSignal.timeout(2000) });
    return true;
  } catch {
    return false;
  }
}

export async function run(args: ParsedArgs): Promise<number> {
  const workdir = resolve(requireOpt(args, 'workdir'));
  const timeoutText = opt(args, 'timeout');
  const timeoutS = timeoutText === undefined ? DEFAULT_TIMEOUT_S : Number(timeoutText);
  if (!Number.isFinite(timeoutS) || timeoutS <= 0) throw new UsageError('--timeout must be a number of seconds');

  const state = readServeState(workdir);
  if (state && !processAlive(state.pid)) {
    // serve was killed (no exit hook ran): its file is stale.
    try {
      unlinkSync(serveStatePath(workdir));
    } catch {
      // Not ours to remove, or gone.
    }
    fail(`serve is not running on ${workdir} (pid ${state.pid} of serve.json is gone)`);
    return 1;
  }
  const url = state?.url ?? (await controlUrl(workdir));
  if (!url) {
    fail(`serve is not running on ${workdir} (no serve.json, and settings.json cannot be read)`);
    return 1;
  }
  const secret = readControlSecret(workdir);
  if (!secret) {
    fail(`no control secret in ${workdir} (control.secret is written by serve at start): is serve running on this folder?`);
    return 1;
  }

  const refused = await askShutdown(url, secret);
  if (refused === 'unreachable') {
    fail(state ? `serve (pid ${state.pid}) does not answer at ${url}` : `serve is not running on ${workdir} (nothing answers at ${url})`);
    return 1;
  }
  if (refused) {
    fail(`serve at ${url} refused to shut down: ${refused}`);
    return 1;
  }
  say(`stopping serve${state ? ` (pid ${state.pid})` : ''} at ${url}`);

  const gone = async () => (state ? !processAlive(state.pid) : !(await answers(url)));
  const deadline = Date.now() + timeoutS * 1000;
  while (Date.now() < deadline) {
    if (await gone()) {
      say('stopped');
      return 0;
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  if (!state) {
    fail(`serve at ${url} still answers after ${timeoutS} s, and its pid is unknown (no serve.json): not killed`);
    return 1;
  }
  fail(`serve (pid ${state.pid}) did not stop within ${timeoutS} s: killing it`);
  killProcessSync(state.pid);
  return 3;
}
