// Writing a message into the queue (SPEC 7 "250 only after it is durably in the queue", SPEC 8;
// layout in docs/queue-format.md, format 2).
//
// begin() allocates the ID (the receiver names it in the Received header). write() gathers the
// message; once 128 KiB are waiting, incoming/tmp/<ID>.<pid>.<random>.$CP.tmp is created and
// the message streams there, never held whole in memory. commit(record):
//   1. appends the envelope (the record as pretty JSON, then the last line
//      `sekisho-queue/2 message=<bytes> envelope=<bytes>`) and makes the file durable: a message
//      that never reached 128 KiB (nearly all mail) is written whole in ONE O_DSYNC write (one
//      system call writes and flushes it; into a recycled file when there is one); a longer one
//      gets its tail and the envelope written, then one fdatasync;
//   2. renames it to incoming/<ID>.$CP — from this instant the message is queued;
//   3. fsyncs incoming/ (group-committed with every concurrent commit) — then resolves, and the
//      receiver may answer 250.
// One file, one flush of its data, one rename, a shared directory flush: format 1 wrote and
// flushed two files (message and control record) and renamed both.
// A crash before 2 leaves a temp file the runner never sees (sweepOrphans removes it); the
// rename is atomic, so the queue file exists whole or not at all. Its last line must add up to
// its length (store.ts), so even a file system that reordered the rename before the data could
// not make a partial message deliverable.
//
// Only the writes that wait for the disk go to libuv's thread pool. Creating, closing and
// renaming a file take microseconds and run on the loop thread: every thread-pool round trip
// costs two context switches, and at several hundred messages a second those were a large
// part of the receiver's CPU (docs/benchmarks.md).
import { unlink } from 'node:fs/promises';
import { closeSync, openSync, unlinkSync } from 'node:fs';
import { renameRetrying } from './winfs.js';
import type { ControlRecord, QueueId } from './types.js';
import { IdAllocator, type IdAllocatorOptions } from './ids.js';
import { controlPath, incomingDir } from './paths.js';
import { syncDir } from './fsync.js';
import { createDurable, dataSync, DSYNC_FLAG, openRecycled, writeAllAsync } from './durable.js';
import { sparePool } from './spare.js';
import { QUEUE_FORMAT, ensureQueueDirs, queueTrailer, tmpName, validateControlRecord, withTmpDir } from './store.js';

/** What the receiver fills in; the writer adds format, id and size. */
export type NewControlRecord = Omit<ControlRecord, 'format' | 'id' | 'size'>;

export interface PendingMessage {
  /** Allocated at begin(); an aborted message's ID is simply never used. */
  readonly id: QueueId;
  /** Bytes written so far. */
  readonly bytes: number;
  /** Append a chunk. Await it: that is the back-pressure. Do not modify the chunk afterwards. */
  write(chunk: Buffer): Promise<void>;
  /** Make the message durable and visible to the runner; resolves with its ID only then. */
  commit(record: NewControlRecord): Promise<QueueId>;
  /** Drop the message (connection lost, size limit, policy): nothing is left behind. */
  abort(): Promise<void>;
}

/** Small chunks are gathered up to this size before one write call (and before a file exists). */
// 128 KiB: a typical business mail with a small attachment (100 KB) still goes in one durable
// write into a recycled file; a session holds at most this much before streaming.
const COALESCE_BYTES = 128 * 1024;

class PendingFile implements PendingMessage {
  bytes = 0;
  private state: 'open' | 'committing' | 'committed' | 'aborted' = 'open';
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private chain: Promise<void> = Promise.resolve();
  /** The temp file, created once the message outgrows COALESCE_BYTES (or at commit). */
  private fd: number | null = null;
  private tmpPath: string | null = null;
  /** A failed write poisons the message: committing it would lose a chunk silently. */
  private writeError: unknown = null;

  constructor(
    readonly id: QueueId,
    private readonly workdir: string,
  ) {}

  write(chunk: Buffer): Promise<void> {
    if (this.state !== 'open') return Promise.reject(new Error(`queue message ${this.id} is ${this.state}; cannot write`));
    if (chunk.length === 0) return this.chain;
    this.bytes += chunk.length;
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes < COALESCE_BYTES) return this.chain;
    // Writes are serialized even if a caller forgets to await, so the file is in order.
    const run = this.chain.then(() => this.flushPending());
    this.chain = run.catch((err) => {
      this.writeError ??= err;
    });
    return run;
  }

  /**
   * Open the temp file (created on first use, in incoming/tmp made if missing): streaming (no
   * O_DSYNC, one fdatasync at the end), or for the one O_DSYNC write of a small message of
   * `length` bytes, a recycled file where there is one.
   */
  private async ensureOpen(flags: number, length?: number): Promise<number> {
    if (this.fd !== null) return this.fd;
    this.fd = await withTmpDir(this.workdir, async () => {
      this.tmpPath = tmpName(this.workdir, this.id, '.$CP.tmp');
      if (length !== undefined && sparePool(this.workdir).take('m', this.tmpPath)) return openRecycled(this.tmpPath, length);
      return openSync(this.tmpPath, flags, 0o666);
    });
    return this.fd;
  }

  /** Write what is gathered to the temp file (opened with `flags` if not yet). */
  private async writePending(flags: number, length?: number): Promise<void> {
    const fd = await this.ensureOpen(flags, length);
    const bufs = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    await writeAllAsync(fd, bufs);
  }

  private async flushPending(): Promise<void> {
    if (this.pendingBytes > 0) await this.writePending(createDurable.streaming);
  }

  private closeFile(): void {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    closeSync(fd);
  }

  /** Step 1: the message and its envelope (`trailer`), durable in the temp file. */
  private async syncData(trailer: Buffer): Promise<void> {
    await this.chain;
    if (this.writeError) throw this.writeError;
    this.pending.push(trailer);
    this.pendingBytes += trailer.length;
    if (this.fd === null) {
      // Never reached 128 KiB: written whole into a recycled file if there is one (the length
      // lets openRecycled cut the old content down first), else a new one. One O_DSYNC write
      // makes it durable; Windows has no O_DSYNC (DSYNC_FLAG 0), so there the same write is
      // followed by one fdatasync (FlushFileBuffers). Before, Windows took the streaming
      // branch below, which never takes a spare: delivered files went into spare/ and waited
      // there for trimSpares while every message created a new file.
      await this.writePending(createDurable.dsync, this.pendingBytes);
      if (!DSYNC_FLAG) await dataSync(this.fd!);
    } else {
      await this.flushPending();
      const fd = await this.ensureOpen(createDurable.streaming);
      await dataSync(fd);
    }
    this.closeFile();
  }

  async commit(record: NewControlRecord): Promise<QueueId> {
    if (this.state !== 'open') throw new Error(`queue message ${this.id} is ${this.state}; cannot commit`);
    this.state = 'committing';
    const full: ControlRecord = { ...record, format: QUEUE_FORMAT, id: this.id, size: this.bytes };
    const final = controlPath(this.workdir, this.id);
    try {
      validateControlRecord(full, final);
      await this.syncData(queueTrailer(full));
      await renameRetrying(this.tmpPath!, final);
    } catch (err) {
      this.state = 'aborted';
      try {
        this.closeFile();
      } catch {
        /* already failing */
      }
      if (this.tmpPath) unlinkQuietSync(this.tmpPath);
      throw err;
    }
    try {
      await syncDir(incomingDir(this.workdir));
    } catch (err) {
      // The disk refused the flush: the caller answers 451 and the client will send again, so
      // take the message back rather than let the runner deliver a copy the client does not
      // know was accepted.
      this.state = 'aborted';
      await unlink(final).catch(() => {});
      throw err;
    }
    this.state = 'committed';
    return this.id;
  }

  async abort(): Promise<void> {
    if (this.state === 'committed' || this.state === 'aborted') return;
    if (this.state === 'committing') return; // commit cleans up after itself on failure
    this.state = 'aborted';
    this.pending = [];
    this.pendingBytes = 0;
    await this.chain;
    try {
      this.closeFile();
    } catch {
      /* nothing more to do */
    }
    if (this.tmpPath) unlinkQuietSync(this.tmpPath);
  }
}

function unlinkQuietSync(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    /* gone already, or the sweep will take it */
  }
}

export interface QueueWriterOptions extends IdAllocatorOptions {}

/** Writes messages into `<workdir>/incoming`. One per process is enough; begin() is concurrent. */
export class QueueWriter {
  private allocator: Promise<IdAllocator> | null = null;

  constructor(
    readonly workdir: string,
    private readonly opts: QueueWriterOptions = {},
  ) {}

  private ids(): Promise<IdAllocator> {
    if (!this.allocator) {
      this.allocator = IdAllocator.open(incomingDir(this.workdir), this.opts);
      this.allocator.catch(() => {
        this.allocator = null; // let the next begin() try again (folder fixed meanwhile)
      });
    }
    return this.allocator;
  }

  /**
   * Optional: open the ID counter and the temp folder now, so a start-up problem (folder not
   * writable, counter lock held by a hung process) shows at start and not at the first message.
   */
  async ready(): Promise<void> {
    await this.ids();
    await ensureQueueDirs(this.workdir);
  }

  /** Allocate an ID; call write() for the content, then commit()/abort(). No file exists before the
   *  message outgrows 128 KiB or is committed. */
  async begin(): Promise<PendingMessage> {
    const id = await (await this.ids()).next();
    await ensureQueueDirs(this.workdir);
    return new PendingFile(id, this.workdir);
  }
}
