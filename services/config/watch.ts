// Hot reload (SPEC 3): every change to settings.json, the four tables or an account file is
// picked up; a configuration with any error is not applied and the last good snapshot stays.
//
// A half-written file must never be applied, and a truncated table can be perfectly valid
// (`10.0.0.1 true` cut after `10.0.0.1` is a trusted host with the implicit action `true`;
// `192.168.0.0/16` cut to `192.168.0.0/1` is half the Internet). Three defences, in order:
//  1. chokidar's awaitWriteFinish: an event fires only once the file's size has not changed for
//     `stabilityMs` (an editor writing in pieces keeps moving it).
//  2. a debounce, so a burst of events (an editor writing a backup, then the file) is one reload.
//  3. before parsing, every file is read twice, `settleMs` apart, until two reads give the same
//     bytes (bounded); only a stable read is parsed and applied.
// What no watcher can tell apart: a writer that pauses longer than `stabilityMs` + `settleMs`
// mid-file, then continues. Notepad and Sekisho itself write a file in one go (Sekisho with a
// rename, which is atomic), so in practice the window is closed.
import { EventEmitter } from 'node:events';
import { relative, sep } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { configFingerprint, parseConfigFiles, readConfigFiles, type ConfigFiles } from './load.js';
import { ACCOUNT_FILES, workPaths } from './paths.js';
import { TABLE_FILES, type ConfigSnapshot, type Diagnostic } from './types.js';

export interface WatcherOptions {
  /** awaitWriteFinish stability threshold (ms). */
  stabilityMs?: number;
  /** Quiet time after the last event before reloading (ms). */
  debounceMs?: number;
  /** Gap between the two reads that must agree (ms). */
  settleMs?: number;
}

export class ConfigLoadError extends Error {
  constructor(readonly diagnostics: Diagnostic[]) {
    super(`the configuration has errors:\n${diagnostics.filter((d) => d.severity === 'error').map((d) => `  ${d.file}:${d.line}:${d.column}: ${d.message}`).join('\n')}`);
  }
}

export type ReloadOutcome = 'applied' | 'rejected' | 'unchanged' | 'unstable';

const ROOT_FILES = new Set<string>([...Object.values(TABLE_FILES), 'inbox']);
const ACCOUNT_FILE_NAMES = new Set<string>(Object.values(ACCOUNT_FILES));
const MAX_STABLE_READS = 20;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface ConfigWatcher {
  on(event: 'applied', listener: (snapshot: ConfigSnapshot) => void): this;
  on(event: 'rejected', listener: (diagnostics: Diagnostic[]) => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  once(event: 'applied', listener: (snapshot: ConfigSnapshot) => void): this;
  once(event: 'rejected', listener: (diagnostics: Diagnostic[]) => void): this;
}

export class ConfigWatcher extends EventEmitter {
  private snapshot: ConfigSnapshot;
  private lastDiagnostics: Diagnostic[];
  private appliedFingerprint: string;
  private lastOutcome: 'applied' | 'rejected' = 'applied';
  private watcher: FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;
  private chain: Promise<ReloadOutcome> = Promise.resolve('unchanged');
  private closed = false;
  private readonly opts: Required<WatcherOptions>;

  private constructor(
    readonly workdir: string,
    first: { snapshot: ConfigSnapshot; diagnostics: Diagnostic[]; fingerprint: string },
    opts: Required<WatcherOptions>,
  ) {
    super();
    this.snapshot = first.snapshot;
    this.lastDiagnostics = first.diagnostics;
    this.appliedFingerprint = first.fingerprint;
    this.opts = opts;
  }

  /** Load the work folder and watch it. Throws ConfigLoadError when the first load has errors. */
  static async start(workdir: string, options: WatcherOptions = {}): Promise<ConfigWatcher> {
    const opts = { stabilityMs: 300, debounceMs: 150, settleMs: 100, ...options };
    const root = workPaths(workdir).root;
    const stable = await readStable(root, opts.settleMs);
    const r = parseConfigFiles(root, stable.files, 1);
    if (!r.snapshot) throw new ConfigLoadError(r.diagnostics);
    const w = new ConfigWatcher(root, { snapshot: r.snapshot, diagnostics: r.diagnostics, fingerprint: stable.fingerprint }, opts);
    await w.watch();
    // A change between the first read and chokidar's `ready` would otherwise go unseen.
    w.schedule();
    return w;
  }

  /** The last good snapshot. */
  current(): ConfigSnapshot {
    return this.snapshot;
  }

  /** Diagnostics of the last load: the rejected one's errors, or the applied one's warnings. */
  diagnostics(): Diagnostic[] {
    return this.lastDiagnostics;
  }

  /**
   * Reload now (the app calls this after saving a file so the result is known at once).
   * Concurrent calls share one reload; a call during a reload runs another one after it.
   */
  async reload(): Promise<ReloadOutcome> {
    // Serialized: each call reloads after the ones before it, so the last write always wins.
    const next = this.chain.then(() => (this.closed ? ('unchanged' as const) : this.reloadOnce()));
    this.chain = next.catch(() => 'unchanged' as const);
    return next;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.watcher?.close();
    this.watcher = null;
    await this.chain;
  }

  private async watch(): Promise<void> {
    const root = this.workdir;
    const relevant = (path: string): boolean => {
      const rel = relative(root, path);
      if (rel === '') return true;
      const parts = rel.split(sep).map((p) => p.toLowerCase());
      if (parts[0] === '..') return false;
      if (parts.length === 1) return ROOT_FILES.has(parts[0]);
      if (parts[0] !== 'inbox') return false;
      if (parts.length === 2) return true;
      return parts.length === 3 && ACCOUNT_FILE_NAMES.has(parts[2]);
    };
    const w = watch(root, {
      ignoreInitial: true,
      depth: 2,
      ignored: (path: string) => !relevant(path),
      awaitWriteFinish: { stabilityThreshold: this.opts.stabilityMs, pollInterval: Math.min(50, this.opts.stabilityMs) },
    });
    this.watcher = w;
    w.on('all', () => this.schedule());
    w.on('error', (err) => this.fail(err as Error));
    await new Promise<void>((resolve) => w.once('ready', () => resolve()));
  }

  private schedule(): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.reload().catch((err) => this.fail(err));
    }, this.opts.debounceMs);
  }

  private fail(err: Error): void {
    if (this.listenerCount('error')) this.emit('error', err);
  }

  private async reloadOnce(): Promise<ReloadOutcome> {
    const stable = await readStable(this.workdir, this.opts.settleMs);
    if (this.closed) return 'unchanged';
    if (!stable.stable) {
      // Still being written after every re-read: try again later rather than apply a half.
      this.schedule();
      return 'unstable';
    }
    if (stable.fingerprint === this.appliedFingerprint && this.lastOutcome === 'applied') return 'unchanged';
    const r = parseConfigFiles(this.workdir, stable.files, this.snapshot.generation + 1);
    this.lastDiagnostics = r.diagnostics;
    if (!r.snapshot) {
      this.lastOutcome = 'rejected';
      this.emit('rejected', r.diagnostics);
      return 'rejected';
    }
    this.snapshot = r.snapshot;
    this.appliedFingerprint = stable.fingerprint;
    this.lastOutcome = 'applied';
    this.emit('applied', r.snapshot);
    return 'applied';
  }
}

/** Read every file until two reads `settleMs` apart agree (bounded). */
async function readStable(root: string, settleMs: number): Promise<{ files: ConfigFiles; fingerprint: string; stable: boolean }> {
  let files = await readConfigFiles(root);
  let fingerprint = configFingerprint(files);
  for (let n = 0; n < MAX_STABLE_READS; n++) {
    await sleep(settleMs);
    const again = await readConfigFiles(root);
    const fp = configFingerprint(again);
    if (fp === fingerprint) return { files, fingerprint, stable: true };
    files = again;
    fingerprint = fp;
  }
  return { files, fingerprint, stable: false };
}
