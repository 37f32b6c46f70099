// DATA: the message streams from smtp-server into the queue writer chunk by chunk (awaiting
// each write is the back-pressure, so a 50 MB message never sits in memory), behind our
// Received header, through the size, hop-count and smuggling checks. The reply is 250 only
// when commit() resolved: the message is durable (SPEC 7, SPEC 8).
import type { Readable } from 'node:stream';
import type { PendingMessage, QueueWriter, NewControlRecord } from '../queue/index.js';
import type { Reply } from '../policy/types.js';
import { REPLIES } from './replies.js';
import { ReceivedCounter, SmugglingDetector } from './data-filters.js';
import { receivedHeader, type ReceivedInfo } from './received.js';
import { streamed } from '../runtime/streamed-bytes.js';

/** From this size on, a message's bytes count towards the collections of streamed(). */
const BIG_MESSAGE_BYTES = 1024 * 1024;

export interface MessageLimits {
  /** 0 = unlimited. Counted over the client's bytes (our Received header not included). */
  maxMessageBytes: number;
  /** 0 = unlimited. The message is refused when it already has more Received fields. */
  maxReceivedHeaders: number;
}

export interface MessageJob {
  writer: QueueWriter;
  limits: MessageLimits;
  received: Omit<ReceivedInfo, 'id' | 'date'>;
  /** The control record minus what is only known at the end. */
  record: Omit<NewControlRecord, 'receivedAt' | 'nextAttemptAt'>;
  trace: (line: string) => void;
}

export type MessageOutcome =
  | { ok: true; id: string; bytes: number }
  /** `lost`: the client went away before the final dot; there is nobody to answer. */
  | { ok: false; reply: Reply; why: string; id?: string; lost?: boolean };

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function abortQuietly(p: PendingMessage | null): Promise<void> {
  if (p) await p.abort().catch(() => {});
}

export async function receiveMessage(stream: Readable, job: MessageJob): Promise<MessageOutcome> {
  const { limits, trace } = job;
  const smuggling = new SmugglingDetector();
  const hops = new ReceivedCounter();
  let pending: PendingMessage | null = null;
  let id: string | undefined;
  let failure: { reply: Reply; why: string } | null = null;
  let size = 0;

  const fail = async (reply: Reply, why: string) => {
    failure = { reply, why };
    await abortQuietly(pending);
    pending = null;
  };

  try {
    pending = await job.writer.begin();
    id = pending.id;
    const date = new Date();
    await pending.write(Buffer.from(receivedHeader({ ...job.received, id, date }), 'latin1'));
    trace(`queue ${id}: writing`);
  } catch (err) {
    await fail(REPLIES.localError, `queue write failed: ${errText(err)}`);
  }

  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      // After a failure the rest is read and dropped, so the reply comes after the final dot.
      if (failure) continue;
      size += chunk.length;
      // A big message frees the socket chunks it consumed as it goes (runtime/streamed-bytes.ts).
      // Below 1 MiB the allocations of ordinary traffic collect them soon enough on their own.
      if (size > BIG_MESSAGE_BYTES) streamed(chunk.length);
      if (limits.maxMessageBytes > 0 && size > limits.maxMessageBytes) {
        await fail(REPLIES.sizeExceeded, `message larger than maxMessageBytes ${limits.maxMessageBytes}`);
      } else if (!hops.headerEnded && hops.push(chunk) > limits.maxReceivedHeaders && limits.maxReceivedHeaders > 0) {
        await fail(REPLIES.tooManyHops, `${hops.count} Received headers > maxReceivedHeaders ${limits.maxReceivedHeaders}`);
      } else if (smuggling.push(chunk)) {
        await fail(REPLIES.smuggling, 'a "." line framed by a bare CR or LF (SMTP smuggling attempt)');
      } else if (pending) {
        try {
          await pending.write(chunk);
        } catch (err) {
          await fail(REPLIES.localError, `queue write failed: ${errText(err)}`);
        }
      }
    }
  } catch (err) {
    await abortQuietly(pending);
    return { ok: false, reply: REPLIES.localError, why: `connection lost during DATA: ${errText(err)}`, id, lost: true };
  }

  if (!failure && smuggling.finish()) {
    await fail(REPLIES.smuggling, 'a "." line framed by a bare CR or LF (SMTP smuggling attempt)');
  }
  if (failure) {
    const f = failure as { reply: Reply; why: string };
    return { ok: false, reply: f.reply, why: f.why, id };
  }
  if (!pending) return { ok: false, reply: REPLIES.localError, why: 'no queue file', id };

  const p: PendingMessage = pending;
  try {
    const now = new Date().toISOString();
    const committed = await p.commit({ ...job.record, receivedAt: now, nextAttemptAt: now });
    return { ok: true, id: committed, bytes: p.bytes };
  } catch (err) {
    // commit() removes what it wrote when it fails; never answer 250 then.
    return { ok: false, reply: REPLIES.localError, why: `queue commit failed: ${errText(err)}`, id };
  }
}
