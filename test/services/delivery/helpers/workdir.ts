// A fresh work folder for delivery tests, and queued messages written with the queue module's
// own QueueWriter (what the receiver does), so the runner sees exactly what it will in use.
import { mkdtemp, mkdir, writeFile, readdir, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QueueWriter } from '../../../../services/queue/writer.js';
import { readControl } from '../../../../services/queue/store.js';
import type { ControlRecord, RecipientState } from '../../../../services/queue/types.js';

export interface WorkdirOptions {
  delivery?: Record<string, unknown>;
  receiverPorts?: number[];
  gateway?: string[];
  domains?: string[];
  /** Local accounts: inbox/<user>/ folders. */
  accounts?: string[];
  hostname?: string;
}

export async function makeWorkdir(o: WorkdirOptions = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sekisho-delivery-'));
  const settings = {
    hostname: o.hostname ?? 'gw.test.jp',
    receiver: { bind: '127.0.0.1', ports: o.receiverPorts ?? [1] },
    delivery: {
      workers: 4,
      retryIntervalSec: 1,
      refusalRetries: 1,
      abnormalHours: 0.0005,
      noResponseHours: 0.0005,
      connectTimeoutSec: 2,
      replyTimeoutSec: 2,
      postmaster: 'postmaster@test.jp',
      ...o.delivery,
    },
  };
  await writeFile(join(dir, 'settings.json'), JSON.stringify(settings, null, 2));
  await writeFile(join(dir, 'gateway.dat'), ["' test routes", ...(o.gateway ?? [])].join('\r\n') + '\r\n');
  await writeFile(join(dir, 'domains.dat'), (o.domains ?? ['test.jp']).join('\r\n') + '\r\n');
  await mkdir(join(dir, 'inbox'), { recursive: true });
  for (const u of o.accounts ?? []) await mkdir(join(dir, 'inbox', u), { recursive: true });
  await mkdir(join(dir, 'incoming'), { recursive: true });
  return dir;
}

export interface QueueOptions {
  from: string;
  to: Array<string | Partial<RecipientState> & { address: string }>;
  body?: string;
  origin?: ControlRecord['origin'];
}

export async function queueMessage(workdir: string, o: QueueOptions): Promise<string> {
  const writer = new QueueWriter(workdir);
  const p = await writer.begin();
  const body = o.body ?? `Received: from pc1 by gw.test.jp (Sekisho) id ${p.id}\r\nFrom: <${o.from}>\r\nSubject: test ${p.id}\r\nMessage-ID: <${p.id}@test>\r\n\r\nhello ${p.id}\r\n`;
  await p.write(Buffer.from(body));
  const now = new Date().toISOString();
  return p.commit({
    from: o.from,
    recipients: o.to.map((t) => {
      const r = typeof t === 'string' ? { address: t } : t;
      return { original: r.address, kind: 'remote', status: 'pending', attempts: 0, refusals: 0, ...r } as RecipientState;
    }),
    receivedAt: now,
    nextAttemptAt: now,
    retries: 0,
    client: { ip: '127.0.0.1', helo: 'pc1', authUser: '' },
    origin: o.origin ?? 'message',
  });
}

/** Poll until `check` returns a truthy value, bounded. */
export async function until<T>(check: () => Promise<T> | T, ms = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function queuedIds(workdir: string): Promise<string[]> {
  return (await readdir(join(workdir, 'incoming'))).filter((n) => n.endsWith('.$CP')).map((n) => n.slice(0, -4)).sort();
}

/** The record as the runner reads it (either queue format), or null when not queued. */
export async function readRecord(workdir: string, id: string): Promise<ControlRecord | null> {
  if (!existsSync(join(workdir, 'incoming', `${id}.$CP`))) return null;
  try {
    return await readControl(workdir, id);
  } catch {
    return null;
  }
}

export async function senderLog(workdir: string): Promise<string> {
  const dir = join(workdir, 'log', 'sender');
  if (!existsSync(dir)) return '';
  let out = '';
  for (const f of (await readdir(dir)).sort()) out += await readFile(join(dir, f), 'utf8');
  return out;
}
