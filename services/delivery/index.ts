// The delivery service (SPEC 1, 8): a queue runner with delivery.workers concurrent attempts.
// It learns about messages from watchQueue (at start and on every new or rewritten control
// file, plus a periodic rescan), claims a message before touching it (so two runners on one
// folder never deliver it twice at once), and runs one attempt with the configuration
// snapshot current at that moment (hot reload).
import { ConfigWatcher } from '../config/watch.js';
import type { ConfigSnapshot } from '../config/types.js';
import { openLogs } from '../logs/index.js';
import { claimMessage } from '../queue/claim.js';
import { readControl } from '../queue/store.js';
import { controlPath } from '../queue/paths.js';
import { existsSync } from 'node:fs';
import { watchQueue } from '../queue/watch.js';
import { sweepOrphans } from '../queue/sweep.js';
import { trimSpares } from '../queue/spare.js';
import { flushPendingDirs } from '../queue/fsync.js';
import { QueueWriter } from '../queue/writer.js';
import { attemptDelivery } from './attempt.js';
import { MxResolver } from './dns.js';
import { ownAddresses } from './loop.js';
import { HopPool } from './pool.js';
import { DeadHosts } from './dead-hosts.js';
import { configLines, traceLine } from './debug.js';

export interface DeliveryOptions {
  workdir: string;
  /** The --debug trace (SPEC 9): effective configuration first, then routes, replies, retries. */
  debug?: (line: string) => void;
  /** How long close() lets in-flight attempts finish before giving up on them (default 15 s). */
  drainMs?: number;
  /** Queue rescan period (default 5 s). */
  rescanMs?: number;
}

export interface DeliveryService {
  close(): Promise<void>;
  /** Attempts running now. */
  readonly busy: number;
}

const TICK_MS = 250;

export async function startDelivery(opts: DeliveryOptions): Promise<DeliveryService> {
  const { workdir } = opts;
  const debug = opts.debug ?? (() => {});
  const config = await ConfigWatcher.start(workdir);
  const first = config.current();
  const logs = openLogs(workdir, { retentionDays: first.settings.logs.retentionDays });
  const log = (id: string, text: string) => logs.sender(id, text);

  for (const line of configLines(first)) debug(line);

  // What crashed writers left behind (orphan .MSG or .$ST, temp files, dead claims) goes before
  // we start; again every hour for a long-running service. What it leaves for the administrator
  // (a format-1 control record without its message) is traced too.
  const sweep = () =>
    sweepOrphans(workdir).then(
      (r) => {
        r.removed.forEach((p) => debug(traceLine(null, `queue sweep: removed ${p}`)));
        r.problems.forEach((p) => debug(traceLine(null, `queue sweep: ${p}`)));
      },
      (err) => debug(traceLine(null, `queue sweep: ${(err as Error).message}`)),
    );
  await sweep();
  const sweepTimer = setInterval(sweep, 3600_000);
  sweepTimer.unref();
  // Recycled files (queue/spare.ts) still hold delivered mail: the ones left unused when the
  // traffic stops are deleted within a few minutes.
  const spareTimer = setInterval(() => trimSpares(workdir), 60_000);
  spareTimer.unref();

  let resolverKey = '';
  let resolver: MxResolver | null = null;
  const resolverFor = (snap: ConfigSnapshot): MxResolver => {
    const key = JSON.stringify(snap.settings.delivery.dnsServers);
    if (!resolver || key !== resolverKey) {
      resolver = new MxResolver(snap.settings.delivery.dnsServers, Math.min(5000, snap.settings.delivery.connectTimeoutSec * 1000));
      resolverKey = key;
    }
    return resolver;
  };
  config.on('applied', (snap: ConfigSnapshot) => {
    debug(traceLine(null, `config reloaded (generation ${snap.generation})`));
  });
  config.on('rejected', (diags: Array<{ file: string; line: number; message: string }>) => {
    for (const d of diags) debug(traceLine(null, `config not applied: ${d.file}:${d.line}: ${d.message}`));
  });

  const pool = new HopPool();
  const deadHosts = new DeadHosts();
  const writer = new QueueWriter(workdir);
  let own = ownAddresses();
  const ownTimer = setInterval(() => (own = ownAddresses()), 60_000);
  ownTimer.unref();

  // Due messages wait in `ready` (FIFO, so the queue is worked in arrival order); the others
  // in `later` until their nextAttemptAt. Both are bounded by the queue's size.
  const ready: string[] = [];
  const readySet = new Set<string>();
  const later = new Map<string, number>();
  const inFlight = new Map<string, Promise<void>>();
  let closing = false;

  const schedule = (id: string, at: number) => {
    if (closing || readySet.has(id)) return;
    if (at <= Date.now()) {
      later.delete(id);
      readySet.add(id);
      ready.push(id);
      return;
    }
    const prev = later.get(id);
    if (prev === undefined || at < prev) later.set(id, at);
  };

  const run = async (id: string): Promise<void> => {
    const snap = config.current();
    try {
      // Claim first, then read the record once under the claim: one read per attempt instead
      // of a look before the claim and another after it.
      const claim = await claimMessage(workdir, id);
      if (!claim) {
        // Gone (delivered and removed): nothing to do. Held by another runner: look again
        // later; the record it writes will tell us when the next attempt is due.
        if (existsSync(controlPath(workdir, id))) schedule(id, Date.now() + 2000);
        return;
      }
      try {
        let rec;
        try {
          rec = await readControl(workdir, id);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
          throw err;
        }
        const at = Date.parse(rec.nextAttemptAt);
        if (at > Date.now()) return schedule(id, at);
        const summary = await attemptDelivery(
          { workdir, snap, resolver: resolverFor(snap), pool, own, writer, log, debug, traceSmtp: !!opts.debug, deadHosts },
          rec,
        );
        if (summary.record) schedule(id, Date.parse(summary.record.nextAttemptAt));
      } finally {
        await claim.release();
      }
    } catch (err) {
      const text = `attempt failed: ${(err as Error).message}`;
      log(id, text);
      debug(traceLine(id, text));
      schedule(id, Date.now() + Math.max(1, snap.settings.delivery.retryIntervalSec) * 1000);
    }
  };

  const pump = () => {
    if (closing) return;
    const limit = config.current().settings.delivery.workers;
    while (inFlight.size < limit && ready.length) {
      const id = ready.shift()!;
      readySet.delete(id);
      if (inFlight.has(id)) {
        // Reported again while being delivered (often our own control-file rewrite): look
        // again shortly; the attempt's result decides what happens then.
        later.set(id, Date.now() + 1000);
        continue;
      }
      const p = run(id).finally(() => {
        inFlight.delete(id);
        pump();
      });
      inFlight.set(id, p);
    }
  };

  const promote = () => {
    const now = Date.now();
    for (const [id, at] of later) {
      if (at <= now) {
        later.delete(id);
        schedule(id, 0);
      }
    }
    pump();
  };

  const tick = setInterval(promote, TICK_MS);
  const queueWatcher = watchQueue(
    workdir,
    (id) => {
      schedule(id, 0);
      pump();
    },
    { rescanMs: opts.rescanMs ?? 5000, onError: (err) => debug(traceLine(null, `queue watch: ${err.message}`)) },
  );

  return {
    get busy() {
      return inFlight.size;
    },
    async close() {
      if (closing) return;
      closing = true;
      clearInterval(tick);
      clearInterval(ownTimer);
      clearInterval(sweepTimer);
      clearInterval(spareTimer);
      queueWatcher.close();
      ready.length = 0;
      readySet.clear();
      later.clear();
      // Let running attempts finish (their control files get written and claims released),
      // but not forever: a hop that never answers must not keep a stop from happening.
      const drain = Promise.allSettled([...inFlight.values()]);
      const limit = new Promise((r) => setTimeout(r, opts.drainMs ?? 15_000).unref());
      await Promise.race([drain, limit]);
      pool.closeAll();
      await flushPendingDirs();
      await Promise.resolve(logs.close());
      await config.close();
    },
  };
}
