// Queue IDs (SPEC 8): `B` + ten digits, increasing, kept across restarts, unique when two
// receivers share one work folder.
//
// The counter `incoming/.seq` holds the next number nobody has reserved. A process takes the
// lock `incoming/.seq.lock`, reserves a block of numbers (100 by default) by advancing the
// counter (written atomically: temp, fsync, rename, directory fsync), releases the lock, and
// hands out the block from memory. So there is one fsync per block, not one per message, and:
// - IDs increase within each process, and every block is above every block reserved before it,
//   so a restarted process continues above everything it or anyone else handed out;
// - two processes never get the same ID (their blocks are disjoint);
// - IDs of two processes interleave by block (B…101–B…200 to one, B…201–B…300 to the other);
// - a crash loses the rest of its block: those IDs are skipped, never reused.
import { mkdir, open, readdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { QueueId } from './types.js';
import { formatQueueId } from './paths.js';
import { lock } from './lockfile.js';
import { syncDir } from './fsync.js';

const MAX_ID = 9_999_999_999;
const ID_IN_NAME = /^B(\d{10})(?:[.-]|$)/;

export interface IdAllocatorOptions {
  /** IDs reserved per counter update (default 100). */
  blockSize?: number;
}

export class IdAllocator {
  private nextNum = 0;
  private end = 0;
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
    await a.reserve(); // fail at start (unwritable folder), not at the first message
    return a;
  }

  /** The next ID; reserves a new block when this one is used up. */
  async next(): Promise<QueueId> {
    for (let i = 0; i < 1000; i++) {
      if (this.nextNum < this.end) return formatQueueId(this.nextNum++);
      this.refill ??= this.reserve().finally(() => {
        this.refill = null;
      });
      await this.refill;
    }
    throw new Error('queue id allocation did not progress');
  }

  private get seqPath(): string {
    return join(this.incomingDir, '.seq');
  }

  private async reserve(): Promise<void> {
    const held = await lock(`${this.seqPath}.lock`);
    try {
      let start = await this.readCounter();
      // The first time, never go below what is in the folder: a lost or restored counter file
      // must not hand out IDs of messages still queued.
      if (this.firstReservation || start === null) start = Math.max(start ?? 1, (await this.highestQueuedId()) + 1);
      start = Math.max(start, this.end); // increasing within this process, whatever the file says
      const end = start + this.blockSize;
      if (end - 1 > MAX_ID) throw new Error(`queue ids exhausted (counter at ${start})`);
      await this.writeCounter(end);
      this.nextNum = start;
      this.end = end;
      this.firstReservation = false;
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
    await rename(tmp, this.seqPath);
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
