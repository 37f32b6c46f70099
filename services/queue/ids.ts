// Queue IDs (SPEC 8): `B` + ten digits, increasing, kept across restarts, unique when two
// receivers share one work folder.
//
// The counter `incoming/.seq` holds the next number nobody has reserved. A process takes the
// lock `incoming/.seq.lock`, reserves a block of numbers (100 by default) by advancing the
// counter (written atomically: temp, fsync, rename, directory fsync), releases the lock, and
// hands out the block from memory; the next block is reserved in the background when a
// quarter of the current one is left. So there is one fsync per block, not one per message, and:
// - IDs increase within each process, and every block is above every block reserved before it,
//   so a restarted process continues above everything it or anyone else handed out;
// - two processes never get the same ID (their blocks are disjoint);
// - IDs of two processes interleave by block (B…101–B…200 to one, B…201–B…300 to the other);
// - a crash loses the rest of its block: those IDs are skipped, never reused.
import { mkdir, open, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { QueueId } from './types.js';
import { formatQueueId } from './paths.js';
import { lock } from './lockfile.js';
import { syncDir } from './fsync.js';
import { renameRetrying } from './winfs.js';

const MAX_ID = 9_999_999_999;
const ID_IN_NAME = /^B(\d{10})(?:[.-]|$)/;

export interface IdAllocatorOptions {
  /** IDs reserved per counter update (default 100). */
  blockSize?: number;
}

export class IdAllocator {
  private nextNum = 0;
  private end = 0;
  /** The block reserved ahead of time (prefetched when the current one runs low). */
  private spare: { start: number; end: number } | null = null;
  private refill: Promise<void> | null = null;
  private firstReservation = true;

  private constructor(
    readonly incomingDir: string,
    private readonly blockSize: number,
  ) {}

  /** Open the allocator of a queue folder (`<workdir>/incoming`); creates the folder. */
  static async open(incomingDir: string, opts: IdAllocatorOptions = {}): Promise<IdAllocator> {
    const blockSize = opts.blockSize ?? 100;
    if (!Number.isInteger(blockSize) || blockSize < 1) throw new RangeError(`blockSize must be a positive integer`);
    await mkdir(incomingDir, { recursive: true });
    const a = new IdAllocator(incomingDir, blockSize);
    await a.fetchBlock(); // fail at start (unwritable folder), not at the first message
    return a;
  }

  /**
   * The next ID. When a quarter of the block is left, the next block is reserved in the
   * background, so sessions do not all wait for the counter's lock and fsync every 100 IDs.
   */
  async next(): Promise<QueueId> {
    for (let i = 0; i < 1000; i++) {
      if (this.nextNum < this.end) {
        const n = this.nextNum++;
        if (!this.spare && !this.refill && this.end - this.nextNum <= Math.floor(this.blockSize / 4)) {
          this.fetchBlock().catch(() => {}); // a failure shows at the next foreground fetch
        }
        return formatQueueId(n);
      }
      if (this.spare) {
        ({ start: this.nextNum, end: this.end } = this.spare);
        this.spare = null;
        continue;
      }
      await this.fetchBlock();
    }
    throw new Error('queue id allocation did not progress');
  }

  /** Reserve one block into `spare` (one reservation at a time). */
  private fetchBlock(): Promise<void> {
    this.refill ??= this.reserve()
      .then((block) => {
        this.spare = block;
      })
      .finally(() => {
        this.refill = null;
      });
    return this.refill;
  }

  private get seqPath(): string {
    return join(this.incomingDir, '.seq');
  }

  private async reserve(): Promise<{ start: number; end: number }> {
    const held = await lock(`${this.seqPath}.lock`);
    try {
      let start = await this.readCounter();
      // The first time, never go below what is in the folder: a lost or restored counter file
      // must not hand out IDs of messages still queued.
      if (this.firstReservation || start === null) start = Math.max(start ?? 1, (await this.highestQueuedId()) + 1);
      // Increasing within this process, whatever the file says (no spare exists while we reserve).
      start = Math.max(start, this.end);
      const end = start + this.blockSize;
      if (end - 1 > MAX_ID) throw new Error(`queue ids exhausted (counter at ${start})`);
      await this.writeCounter(end);
      this.firstReservation = false;
      return { start, end };
    } finally {
      await held.release();
    }
  }

  /** The counter, or null when the file is missing or unreadable. */
  private async readCounter(): Promise<number | null> {
    let text: string;
    try {
      text = await readFile(this.seqPath, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    const n = Number(text.trim());
    return Number.isSafeInteger(n) && n >= 1 ? n : null;
  }

  private async writeCounter(value: number): Promise<void> {
    const tmp = `${this.seqPath}.${process.pid}.tmp`;
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(`${value}\n`);
      await fh.datasync();
    } finally {
      await fh.close();
    }
    // Windows: an antivirus or indexer reading .seq makes the rename over it fail for a moment.
    await renameRetrying(tmp, this.seqPath);
    await syncDir(this.incomingDir);
  }

  private async highestQueuedId(): Promise<number> {
    let max = 0;
    const scan = async (dir: string) => {
      let names: string[];
      try {
        names = await readdir(dir);
      } catch {
        return;
      }
      for (const name of names) {
        const m = ID_IN_NAME.exec(name);
        if (m) max = Math.max(max, Number(m[1]));
      }
    };
    await scan(this.incomingDir);
    await scan(join(this.incomingDir, 'tmp'));
    return max;
  }
}
