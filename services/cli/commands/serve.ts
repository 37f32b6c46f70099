// `sekisho serve --workdir DIR [--init] [--port N]... [--control-port N] [--static DIR] [--require-auth]`
// (SPEC 9, the main job): the receiver and delivery as supervised child processes, plus the
// control API and UI over HTTP on control.bind:control.port. Headless servers, `npm start`
// and the browser tests all run this.
//
// stdout, one line each, for people and for tests waiting on it:
//   control http://127.0.0.1:8025/
//   receiver running pid 1234 ports 2525     (every state change of a service)
//   ready control=http://127.0.0.1:8025/ receiver=running delivery=running
// Stopping: `sekisho stop --workdir DIR` (the control API's shutdown with the control secret),
// or SIGINT / SIGTERM (Ctrl+C, a POSIX service manager). Either way the children are asked to
// stop gracefully (the supervisor's `stop` line; killed only after its grace period), then
// serve exits 0. A second signal kills at once.
//
// --require-auth: every control API call needs the control secret or control.password, even
// when the password is empty (without it, an empty password leaves the API open on loopback, as
// `npm start` and development want). The installed Windows service runs with it (its command
// line, electron/windows-install.ts): a flag of the deployment rather than a settings.json key,
// because it belongs with what the installer sets up (the folder ACL that keeps the secret
// from other local users), and settings.json is what the control API itself edits — a key
// there could be switched off from the UI or lost with a settings file copied from elsewhere.
//
// Files in the work folder while serve runs: control.secret (kept, services/control/secret.ts)
// and serve.json (pid and control address, for `sekisho stop`; removed on exit).
import { existsSync, readFileSync, unlinkSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { flag, list, opt, requireOpt, UsageError, type ParsedArgs } from '../args.js';
import { Supervisor } from '../../supervisor/index.js';
import { createControlApi } from '../../control/handlers.js';
import { startControlServer } from '../../control/http.js';
import { ControlEventBus } from '../../control/events.js';
import { watchWorkFolder } from '../../control/file-events.js';
import { packageRoot } from '../../control/version.js';
import type { ControlEvent, ServiceName, ServiceStatus } from '../../control/api.js';
import { readSettingsFile } from '../../config/settings-file.js';
import { formatDiagnostic } from '../../config/types.js';
import { workPaths } from '../../config/paths.js';
import { initWorkdir } from '../../config/init.js';
import { writeFileAtomic } from '../../config/atomic.js';
import { ensureControlSecret } from '../../control/secret.js';
import { serveStatePath, type ServeState } from '../../control/serve-state.js';

const out = (line: string) => process.stdout.write(`${line}\n`);
const err = (line: string) => process.stderr.write(`sekisho serve: ${line}\n`);

function portOption(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`--${name} must be a port number`);
  return n;
}

function describe(s: ServiceStatus): string {
  const parts: string[] = [s.name, s.state];
  if (s.pid !== null) parts.push(`pid ${s.pid}`);
  if (s.ports.length) parts.push(`ports ${s.ports.join(',')}`);
  if (s.debug) parts.push('debug');
  // How it ended, so a log (or a test) can tell a clean stop (exit 0) from a kill.
  if (s.state === 'stopped' && s.lastExit) parts.push(`(exit ${s.lastExit.signal ?? s.lastExit.code})`);
  if ((s.state === 'crashed' || s.state === 'backoff') && s.lastError) {
    parts.push(`: ${s.lastError}`);
    if (s.nextRestartAt) parts.push(`(restart in ${Math.max(0, Math.round((Date.parse(s.nextRestartAt) - Date.now()) / 1000))} s)`);
  }
  return parts.join(' ');
}

async function staticDir(args: ParsedArgs): Promise<string | null> {
  const given = opt(args, 'static');
  if (given) return resolve(given);
  const root = await packageRoot();
  const dir = root ? join(root, 'dist', 'renderer') : null;
  return dir && existsSync(join(dir, 'index.html')) ? dir : null;
}

export async function run(args: ParsedArgs): Promise<number> {
  const workdir = resolve(requireOpt(args, 'workdir'));
  const controlPortOverride = portOption(opt(args, 'control-port'), 'control-port');
  const receiverPorts = list(args, 'port').map((p) => portOption(p, 'port')!);

  // --- the work folder
  const paths = workPaths(workdir);
  if (flag(args, 'init') && !existsSync(paths.settings)) {
    // Non-privileged defaults so `npm start` works without root: 2525 and 8025.
    await initWorkdir(workdir, {
      ports: receiverPorts.length ? receiverPorts : [2525],
      controlPort: controlPortOverride ?? 8025,
    });
    out(`initialized ${workdir}`);
  }
  const isDir = await stat(workdir).then((s) => s.isDirectory(), () => false);
  if (!isDir) {
    err(`the work folder ${workdir} does not exist (sekisho init --workdir ${workdir}, or serve --init)`);
    return 1;
  }
  const settingsFile = await readSettingsFile(workdir);
  if (!settingsFile.settings) {
    for (const d of settingsFile.issues) err(formatDiagnostic(d));
    return 1;
  }
  const control = { ...settingsFile.settings.control };
  if (controlPortOverride !== undefined) control.port = controlPortOverride;
  let password = control.password;

  // --- supervisor, API, events, HTTP
  const secret = ensureControlSecret(workdir);
  const supervisor = new Supervisor({ workdir });
  const killChildren = () => supervisor.killAllSync();
  // Whatever happens to this process, no child may outlive it.
  process.on('exit', killChildren);
  const bus = new ControlEventBus();
  bus.pipeFrom(supervisor);
  let requestStop: (why: string) => void = () => {};
  const api = createControlApi({ workdir, supervisor, requestShutdown: () => requestStop('shutdown requested through the control API') });

  let server;
  try {
    server = await startControlServer(api, {
      bind: control.bind,
      port: control.port,
      password: () => password,
      secret,
      requireAuth: flag(args, 'require-auth'),
      staticDir: await staticDir(args),
      events: bus,
    });
  } catch (e) {
    err((e as Error).message);
    process.off('exit', killChildren);
    return 1;
  }
  // Queue and log events only while a UI is connected: a headless gateway nobody watches
  // should not read its own logs back (docs/benchmarks.md).
  const folder = watchWorkFolder(workdir, api, (e) => bus.publish(e), { follow: bus.subscribers > 0 });
  bus.on('subscribers', (n: number) => folder.follow(n > 0));
  // control.password applies at once when settings.json changes (from the UI or Notepad);
  // bind and port need a restart of serve.
  bus.on('event', (e: ControlEvent) => {
    if (e.type !== 'config' || e.table !== 'settings') return;
    void readSettingsFile(workdir).then((f) => {
      if (f.settings) password = f.settings.control.password;
    });
  });
  out(`control ${server.url}`);
  // For `sekisho stop`: which process to wait for and where to ask (the port may be an override).
  const statePath = serveStatePath(workdir);
  const state: ServeState = { pid: process.pid, url: server.url, port: server.port, startedAt: new Date().toISOString() };
  await writeFileAtomic(statePath, `${JSON.stringify(state)}\n`).catch((e) => err(`cannot write ${statePath}: ${(e as Error).message}`));
  const removeState = () => {
    try {
      // Only our own: a second serve started on the same folder by mistake must not lose its file.
      if ((JSON.parse(readFileSync(statePath, 'utf8')) as ServeState).pid === process.pid) unlinkSync(statePath);
    } catch {
      // Gone already.
    }
  };
  process.on('exit', removeState);

  // One line per state change, so the console of a headless server tells the story.
  const last = new Map<ServiceName, string>(supervisor.statusAll().map((s) => [s.name, `${s.state}:${s.pid}`]));
  supervisor.on('event', (e: ControlEvent) => {
    if (e.type !== 'status') return;
    for (const s of e.services) {
      const line = describe(s);
      if (last.get(s.name) === `${s.state}:${s.pid}`) continue;
      last.set(s.name, `${s.state}:${s.pid}`);
      (s.state === 'crashed' || s.state === 'backoff' ? err : out)(line);
      // A child that had to be killed at the end of its grace period: say so, it is worth a look.
      if (s.state === 'stopped' && s.lastExit?.reason.startsWith('killed after')) err(`${s.name} ${s.lastExit.reason}`);
    }
  });

  // --- run until a signal or a shutdown request
  let stopping = false;
  const stopped = new Promise<void>((done) => {
    requestStop = (why) => {
      if (stopping) return;
      stopping = true;
      out(`${why}: stopping`);
      done();
    };
    const onSignal = (sig: NodeJS.Signals) => {
      if (stopping) {
        // Second Ctrl+C: no more waiting.
        supervisor.killAllSync();
        process.exit(1);
      }
      requestStop(sig);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    if (process.platform === 'win32') process.on('SIGBREAK', onSignal);
    else process.on('SIGHUP', onSignal);
  });

  // A child that fails to start (port in use) does not stop serve: the status says why, the
  // supervisor retries with backoff, and the admin can fix the settings from the UI.
  await Promise.all(supervisor.services().map((n) => supervisor.start(n).catch(() => {})));
  if (!stopping) {
    out(`ready control=${server.url} ${supervisor.statusAll().map((s) => `${s.name}=${s.state}`).join(' ')}`);
  }

  await stopped;
  folder.close();
  // Children first, the HTTP server last: the UI (and `sekisho stop`) see the services go
  // through 'stopping' to 'stopped'. The supervisor starts nothing once closing.
  await supervisor.close();
  await server.close();
  process.off('exit', killChildren);
  removeState();
  out('stopped');
  // Nothing should be left, but a stray handle must not keep a stopped serve alive.
  setTimeout(() => process.exit(0), 2000).unref();
  return 0;
}
