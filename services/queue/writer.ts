// Writing a message into the queue (SPEC 7 "250 only after it is durably in the queue", SPEC 8).
//
// begin() allocates the ID (the receiver names it in the Received header) and opens
// incoming/tmp/<ID>.<pid>.<random>.MSG.tmp. write() streams the message there, never holding
// it whole in memory. commit():
//   1. fsync the data file;
//   2. write the control record to incoming/tmp/….$CP.tmp and fsync it;
//   3. rename the data to incoming/<ID>.MSG, then the control record to incoming/<ID>.$CP
//      (the control file's presence is what makes a message exist for the runner);
//   4. fsync incoming/ (group-committed with every concurrent commit) — then resolve, and the
//      receiver may answer 250.
// A crash before 3 leaves temp files only; between the renames an orphan .MSG: the runner never
// sees either, and sweepOrphans() removes them. Journaling file systems (ext4, XFS, NTFS) keep
// the two renames in order, so a control file never survives without its data.
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { renameRetrying } from './winfs.js';
import type { ControlRecord, QueueId } from './types.js';
import { IdAllocator, type IdAllocatorOptions } from './ids.js';
import { controlPath, incomingDir, messagePath } from './paths.js';
import { syncDir } from './fsync.js';
import {
  QUEUE_FORMAT,
  ensureQueueDirs,
  forgetQueueDirs,
  serializeControl,
  tmpName,
  validateControlRecord,
  writeFileDurable,
} from './store.js';

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

/** Small chunks are gathered up to this size before one write call. */
const COALESCE_BYTES = 64 * 1024;

class PendingFile implements PendingMessage {
  bytes = 0;
  private state: 'open' | 'committing' | 'committed' | 'aborted' = 'open';
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private chain: Promise<void> = Promise.resolve();
  private closed = false;
  /** A failed write poisons the message: committing it would lose a chunk silently. */
  private writeError: unknown = null;

  constructor(
    readonly id: QueueId,
    private readonly workdir: string,
    private readonly fh: FileHandle,
    private readonly tmpPath: string,
  ) {}

  write(chunk: Buffer): Promise<void> {
    if (this.state !== 'open') return Promise.reject(new Error(`queue message ${this.id} is ${this.state}; cannot write`));
    if (chunk.length === 0) return this.chain;
    this.bytes += chunk.length;
    // Writes are serialized even if a caller forgets to await, so the file is in order.
    const run = this.chain.then(async () => {
      if (chunk.length >= COALESCE_BYTES && this.pendingBytes === 0) return this.writeAll(chunk);
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      if (this.pendingBytes >= COALESCE_BYTES) await this.flushPending();
    });
    this.chain = run.catch((err) => {
      this.writeError ??= err;
    });
    return run;
  }

  private async flushPending(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const buf = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    await this.writeAll(buf);
  }

  private async writeAll(buf: Buffer): Promise<void> {
    let off = 0;
    while (off < buf.length) {
      const { bytesWritten } = await this.fh.write(buf, off, buf.length - off);
      off += bytesWritten;
    }
  }

  private async closeFile(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close();
  }

  async commit(record: NewControlRecord): Promise<QueueId> {
    if (this.state !== 'open') throw new Error(`queue message ${this.id} is ${this.state}; cannot commit`);
    this.state = 'committing';
    const full: ControlRecord = { ...record, format: QUEUE_FORMAT, id: this.id, size: this.bytes };
    const cpTmp = tmpName(this.workdir, this.id, '.$CP.tmp');
    const msgFinal = messagePath(this.workdir, this.id);
    let msgRenamed = false;
    try {
      validateControlRecord(full, controlPath(this.workdir, this.id));
      await this.chain;
      if (this.writeError) throw this.writeError;
      await this.flushPending();
      // Both fsyncs at once: they are independent until the renames, and a journaling file
      // system commits concurrent fsyncs together.
      const dataSynced = this.fh.datasync().then(() => this.closeFile());
      const controlSynced = writeFileDurable(cpTmp, serializeControl(full));
      const [a, b] = await Promise.allSettled([dataSynced, controlSynced]);
      if (a.status === 'rejected') throw a.reason;
      if (b.status === 'rejected') throw b.reason;
      await renameRetrying(this.tmpPath, msgFinal);
      msgRenamed = true;
      await renameRetrying(cpTmp, controlPath(this.workdir, this.id));
    } catch (err) {
      this.state = 'aborted';
      await this.closeFile().catch(() => {});
      await unlink(cpTmp).catch(() => {});
      await unlink(msgRenamed ? msgFinal : this.tmpPath).catch(() => {});
      throw err;
    }
    try {
      await syncDir(incomingDir(this.workdir));
    } catch (err) {
      // The disk refused the flush: the caller answers 451 and the client will send again, so
      // take the message back (control file first, as removeMessage does) rather than let
      // the runner deliver a copy the client does not know was accepted.
      this.state = 'aborted';
      await unlink(controlPath(this.workdir, this.id)).catch(() => {});
      await unlink(msgFinal).catch(() => {});
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
    await this.chain;
    await this.closeFile().catch(() => {});
    await unlink(this.tmpPath).catch(() => {});
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

  /** Allocate an ID and open the temp file; call write() for the content, then commit()/abort(). */
  async begin(): Promise<PendingMessage> {
    const id = await (await this.ids()).next();
    await ensureQueueDirs(this.workdir);
    let path = tmpName(this.workdir, id, '.MSG.tmp');
    let fh: FileHandle;
    try {
      fh = await open(path, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      // incoming/tmp was removed under us (an admin cleaning up): recreate it once.
      forgetQueueDirs(this.workdir);
      await ensureQueueDirs(this.workdir);
      path = tmpName(this.workdir, id, '.MSG.tmp');
      fh = await open(path, 'wx');
    }
    return new PendingFile(id, this.workdir, fh, path);
  }
}
