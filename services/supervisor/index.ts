// Child-process supervision of the services (SPEC 1): start, stop, restart, restart-on-crash
// with exponential backoff, status, and the debug output of each child. Used by
// `sekisho serve` and by the Electron main process alike; no Electron import here.
//
// States (ServiceStatus.state):
//   stopped   not running and not wanted (initial, or after stop())
//   starting  spawned, waiting for its `ready` line
//   running   said `ready`
//   stopping  asked to stop (a `stop` line on its stdin, stop-request.ts), waiting for the
//             exit; killed with its tree after the grace period, and lastExit says so
//   crashed   died before it was ready (port in use, broken config, no `ready` in time);
//             lastError says why; a restart is scheduled with backoff (nextRestartAt)
//   backoff   died while running; a restart is scheduled with backoff (nextRestartAt)
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { cliCommand } from './command.js';
import type { ServiceName, ServiceStatus, SupervisorEvent } from './types.js';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffPolicy } from './backoff.js';
import { exitReason } from './exit-reason.js';
import { killGroupLeftovers, killTree, killTreeSync } from './kill-tree.js';
import { STOP_LINE } from './stop-request.js';
import { LineSplitter, RingBuffer } from './line-buffer.js';
import { parseReadyLine } from './ready-line.js';
import { withParentGuard } from './parent-guard.js';

export { DEFAULT_BACKOFF, backoffDelay, type BackoffPolicy } from './backoff.js';
export { parseReadyLine } from './ready-line.js';
export { exitReason } from './exit-reason.js';
export { PARENT_GUARD_IMPORT, withParentGuard, withoutParentGuard } from './parent-guard.js';
export { STOP_LINE, STOP_EVENT, onStopRequest, requestOwnStop } from './stop-request.js';
export { cliCommand, type CliCommand } from './command.js';
export type { ServiceName, ServiceStatus, SupervisorEvent } from './types.js';

export interface ChildSpec {
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface SupervisorOptions {
  /** The work folder handed to every child as `--workdir`. */
  workdir: string;
  /** The services this supervisor manages. Default: receiver and delivery. */
  services?: ServiceName[];
  /**
   * How to start a service. Default: `sekisho <name> --workdir DIR [--debug]` from this
   * installation (command.ts). Tests hand in small throwaway scripts.
   */
  commandFor?: (name: ServiceName, debug: boolean) => ChildSpec;
  backoff?: Partial<BackoffPolicy>;
  /**
   * Time between the stop request and the forced kill of the tree. Default 20 s: the receiver
   * lets messages in DATA finish for up to 10 s, delivery its attempts in flight for up to 15 s.
   */
  stopGraceMs?: number;
  /** A child that has not printed `ready` by then is killed and counted as a failed start. Default 60 s. */
  startTimeoutMs?: number;
  /** Debug lines kept per service. Default 2000. */
  debugLines?: number;
  /** Restart a child that died on its own. Default true. */
  restartOnCrash?: boolean;
  /**
   * Default command only: make the child stop itself when this process dies, even by SIGKILL
   * (parent-guard.ts). Default true.
   */
  parentGuard?: boolean;
}

type State = ServiceStatus['state'];

interface Pending {
  resolve: (s: ServiceStatus) => void;
  reject: (e: Error) => void;
}

interface ServiceRecord {
  name: ServiceName;
  state: State;
  child: ChildProcess | null;
  pid: number | null;
  spawnedAt: number | null;
  readyAt: number | null;
  debug: boolean;
  ports: number[];
  restarts: number;
  /** Consecutive failures, for the backoff. */
  failures: number;
  lastExit: ServiceStatus['lastExit'];
  lastError: string | null;
  nextRestartAt: number | null;
  restartTimer: NodeJS.Timeout | null;
  /** Stderr of the current child, the first lines only: the reason of a startup failure. */
  stderrHead: string[];
  /** Set when the supervisor killed the child because it never became ready. */
  startFailure: string | null;
  output: RingBuffer<string>;
  /** Waiters of the current start (until `ready` or exit). */
  startWaiters: Pending[];
  /** Waiters of the current child's exit. */
  exitWaiters: Array<() => void>;
  killTimer: NodeJS.Timeout | null;
  /** Set when the grace period ran out and the supervisor killed the child: "killed after N s". */
  killedReason: string | null;
}

const STDERR_HEAD_LINES = 40;
const MAX_LINE_CHARS = 4000;

/**
 * Events: `'event'` with a SupervisorEvent, a part of the control API's ControlEvent (`status`
 * on every state change, `debug` for every output line of a child). Never emits `'error'`.
 */
export class Supervisor extends EventEmitter {
  private readonly records = new Map<ServiceName, ServiceRecord>();
  private readonly backoff: BackoffPolicy;
  private readonly stopGraceMs: number;
  private readonly startTimeoutMs: number;
  private readonly restartOnCrash: boolean;
  private readonly commandFor: (name: ServiceName, debug: boolean) => ChildSpec;
  private closed = false;

  constructor(opts: SupervisorOptions) {
    super();
    this.backoff = { ...DEFAULT_BACKOFF, ...opts.backoff };
    this.stopGraceMs = opts.stopGraceMs ?? 20_000;
    this.startTimeoutMs = opts.startTimeoutMs ?? 60_000;
    this.restartOnCrash = opts.restartOnCrash ?? true;
    this.commandFor =
      opts.commandFor ??
      ((name, debug) => {
        const cmd = cliCommand([name, '--workdir', opts.workdir, ...(debug ? ['--debug'] : [])]);
        return { ...cmd, args: opts.parentGuard === false ? cmd.args : withParentGuard(cmd.args) };
      });
    for (const name of opts.services ?? (['receiver', 'delivery'] as ServiceName[])) {
      this.records.set(name, {
        name,
        state: 'stopped',
        child: null,
        pid: null,
        spawnedAt: null,
        readyAt: null,
        debug: false,
        ports: [],
        restarts: 0,
        failures: 0,
        lastExit: null,
        lastError: null,
        nextRestartAt: null,
        restartTimer: null,
        stderrHead: [],
        startFailure: null,
        output: new RingBuffer<string>(opts.debugLines ?? 2000),
        startWaiters: [],
        exitWaiters: [],
        killTimer: null,
        killedReason: null,
      });
    }
  }

  services(): ServiceName[] {
    return [...this.records.keys()];
  }

  status(name: ServiceName): ServiceStatus {
    const r = this.record(name);
    return {
      name: r.name,
      state: r.state,
      pid: r.pid,
      uptimeMs: r.pid !== null && r.spawnedAt !== null ? Date.now() - r.spawnedAt : null,
      debug: r.debug,
      ports: [...r.ports],
      restarts: r.restarts,
      lastExit: r.lastExit ? { ...r.lastExit } : null,
      lastError: r.lastError,
      nextRestartAt: r.nextRestartAt !== null ? new Date(r.nextRestartAt).toISOString() : null,
    };
  }

  statusAll(): ServiceStatus[] {
    return this.services().map((n) => this.status(n));
  }

  /** The last lines the child printed (stdout and stderr, in arrival order). */
  debugOutput(name: ServiceName): string[] {
    return this.record(name).output.toArray();
  }

  /**
   * Start a service; resolves once it printed `ready`, rejects with the child's reason
   * (`port 2525 is already in use`) when it exits first. Already running: resolves at once.
   * `debug` changes the mode only for a stopped service; use restart() to switch a running one.
   */
  async start(name: ServiceName, opts: { debug?: boolean } = {}): Promise<ServiceStatus> {
    if (this.closed) throw new Error('supervisor is closed');
    const r = this.record(name);
    if (r.state === 'stopping') await this.waitExit(r);
    if (r.state === 'running') return this.status(name);
    if (r.state === 'starting') return this.waitReady(r);
    if (opts.debug !== undefined) r.debug = opts.debug;
    this.cancelRestart(r);
    // An administrator's start is a fresh attempt: the backoff starts over.
    r.failures = 0;
    const ready = this.waitReady(r);
    this.spawnChild(r);
    return ready;
  }

  /**
   * Stop a service gracefully: the line `stop` on its stdin (stop-request.ts; the same on every
   * platform), then, only if it has not exited after the grace period, kill its tree and report
   * "killed after N s" in lastExit.reason, lastError and the debug output.
   */
  async stop(name: ServiceName): Promise<ServiceStatus> {
    const r = this.record(name);
    this.cancelRestart(r);
    if (!r.child) {
      if (r.state !== 'stopped') {
        r.state = 'stopped';
        this.emitStatus();
      }
      return this.status(name);
    }
    if (r.state !== 'stopping') {
      r.state = 'stopping';
      this.emitStatus();
      const pid = r.pid!;
      const child = r.child;
      // A child that already closed its stdin (exiting) gets the EPIPE swallowed by the
      // 'error' listener of spawnChild; the kill timer still guards it.
      if (child.stdin?.writable) child.stdin.write(`${STOP_LINE}\n`);
      r.killTimer = setTimeout(() => {
        r.killTimer = null;
        if (r.child !== child) return;
        const secs = Math.round(this.stopGraceMs / 100) / 10;
        r.killedReason = `killed after ${secs} s: did not stop within the grace period`;
        this.addOutput(r, `[supervisor] ${r.name} (pid ${pid}) did not stop within ${secs} s after the stop request; killing it`);
        killTree(pid, child);
      }, this.stopGraceMs);
    }
    await this.waitExit(r);
    return this.status(name);
  }

  /** A clean stop then a start (port changes, debug on/off). */
  async restart(name: ServiceName, opts: { debug?: boolean } = {}): Promise<ServiceStatus> {
    const r = this.record(name);
    await this.stop(name);
    if (opts.debug !== undefined) r.debug = opts.debug;
    return this.start(name);
  }

  /** Stop every service; the supervisor starts nothing afterwards. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.services().map((n) => this.stop(n)));
  }

  /** For process.on('exit'): kill every child tree synchronously. */
  killAllSync(): void {
    this.closed = true;
    for (const r of this.records.values()) {
      this.cancelRestart(r);
      if (r.pid !== null) killTreeSync(r.pid);
    }
  }

  // -------------------------------------------------------------------------------------

  private record(name: ServiceName): ServiceRecord {
    const r = this.records.get(name);
    if (!r) throw new Error(`unknown service "${name}"`);
    return r;
  }

  private emitStatus(): void {
    this.emit('event', { type: 'status', services: this.statusAll() } satisfies SupervisorEvent);
  }

  private waitReady(r: ServiceRecord): Promise<ServiceStatus> {
    return new Promise((resolve, reject) => r.startWaiters.push({ resolve, reject }));
  }

  private waitExit(r: ServiceRecord): Promise<void> {
    if (!r.child) return Promise.resolve();
    return new Promise((resolve) => r.exitWaiters.push(resolve));
  }

  private cancelRestart(r: ServiceRecord): void {
    if (r.restartTimer) clearTimeout(r.restartTimer);
    r.restartTimer = null;
    r.nextRestartAt = null;
  }

  private settleStart(r: ServiceRecord, error: Error | null): void {
    const waiters = r.startWaiters;
    r.startWaiters = [];
    for (const w of waiters) {
      if (error) w.reject(error);
      else w.resolve(this.status(r.name));
    }
  }

  private addOutput(r: ServiceRecord, raw: string): void {
    // A debug console shows lines, not megabyte dumps: 2000 kept lines stay a few MB at most.
    const line = raw.length > MAX_LINE_CHARS ? `${raw.slice(0, MAX_LINE_CHARS)}… (${raw.length} characters)` : raw;
    r.output.push(line);
    this.emit('event', { type: 'debug', service: r.name, line } satisfies SupervisorEvent);
  }

  private spawnChild(r: ServiceRecord): void {
    r.state = 'starting';
    r.ports = [];
    r.stderrHead = [];
    r.startFailure = null;
    r.readyAt = null;
    r.killedReason = null;
    let child: ChildProcess;
    try {
      const spec = this.commandFor(r.name, r.debug);
      child = spawn(spec.command, spec.args, {
        env: spec.env ?? process.env,
        cwd: spec.cwd,
        // Own process group on POSIX so stop() reaches grandchildren (kill -pid).
        detached: process.platform !== 'win32',
        // stdin stays an open pipe: the stop protocol (a `stop` line) and, through the parent
        // guard, its end as "the supervisor is gone".
        stdio: ['pipe', 'pipe', 'pipe'],
        windowsHide: true,
      });
    } catch (err) {
      this.onExit(r, null, null, null, (err as Error).message);
      return;
    }
    r.child = child;
    r.pid = child.pid ?? null;
    r.spawnedAt = Date.now();
    this.emitStatus();

    const startTimer = setTimeout(() => {
      if (r.child !== child || r.state !== 'starting') return;
      r.startFailure = `did not report ready within ${Math.round(this.startTimeoutMs / 1000)} s`;
      if (child.pid) killTree(child.pid, child);
    }, this.startTimeoutMs);

    const out = new LineSplitter((line) => {
      this.addOutput(r, line);
      if (r.child === child && r.state === 'starting') {
        const ready = parseReadyLine(line);
        if (ready) {
          clearTimeout(startTimer);
          r.state = 'running';
          r.readyAt = Date.now();
          r.ports = ready.ports;
          r.lastError = null;
          this.emitStatus();
          this.settleStart(r, null);
        }
      }
    });
    const err = new LineSplitter((line) => {
      this.addOutput(r, line);
      if (r.child === child && r.stderrHead.length < STDERR_HEAD_LINES) r.stderrHead.push(line);
    });
    child.stdout!.on('data', (c: Buffer) => out.push(c));
    child.stderr!.on('data', (c: Buffer) => err.push(c));
    // A child that exits closes its end; writing to it then must not crash the supervisor.
    child.stdin!.on('error', () => {});

    let spawnError: string | null = null;
    child.on('error', (e) => {
      // ENOENT/EACCES: no 'exit' follows when the process never started.
      spawnError = e.message;
      if (child.pid === undefined) {
        clearTimeout(startTimer);
        this.onExit(r, child, null, null, spawnError);
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(startTimer);
      // stderr may still hold the reason: wait for the pipes to drain, but not for a
      // grandchild that keeps them open.
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        out.flush();
        err.flush();
        this.onExit(r, child, code, signal, spawnError);
      };
      child.once('close', finish);
      setTimeout(finish, 300).unref();
    });
  }

  private onExit(
    r: ServiceRecord,
    child: ChildProcess | null,
    code: number | null,
    signal: string | null,
    spawnError: string | null,
  ): void {
    if (child && r.child !== child) return;
    if (r.killTimer) clearTimeout(r.killTimer);
    r.killTimer = null;
    // Whatever the leader left behind in its group goes with it.
    if (r.pid !== null) killGroupLeftovers(r.pid);
    const wasStarting = r.state === 'starting';
    const intentional = r.state === 'stopping';
    const ranMs = r.readyAt !== null ? Date.now() - r.readyAt : 0;
    r.child = null;
    r.pid = null;
    r.spawnedAt = null;
    r.ports = [];
    const reason = spawnError ?? r.startFailure ?? exitReason(r.name, r.stderrHead, code, signal);
    const killed = r.killedReason;
    r.killedReason = null;
    r.lastExit = { code, signal, at: new Date().toISOString(), reason: intentional ? (killed ?? 'stopped') : reason };

    if (intentional) {
      r.state = 'stopped';
      // A forced stop is worth a look (a hung attempt, a stuck disk): keep it visible.
      if (killed) r.lastError = killed;
      this.settleStart(r, new Error(`${r.name} was stopped before it was ready`));
    } else {
      r.lastError = reason;
      r.failures = ranMs >= this.backoff.resetAfterMs ? 1 : r.failures + 1;
      r.state = wasStarting ? 'crashed' : 'backoff';
      if (this.restartOnCrash && !this.closed) {
        const delay = backoffDelay(this.backoff, r.failures);
        r.nextRestartAt = Date.now() + delay;
        r.restartTimer = setTimeout(() => {
          r.restartTimer = null;
          r.nextRestartAt = null;
          if (this.closed || r.child) return;
          r.restarts++;
          this.spawnChild(r);
        }, delay);
      }
      if (wasStarting) this.settleStart(r, new Error(reason));
    }
    const waiters = r.exitWaiters;
    r.exitWaiters = [];
    for (const w of waiters) w();
    this.emitStatus();
  }
}
