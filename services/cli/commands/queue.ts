// `sekisho queue list|show` (SPEC 8, 9): what is queued, as plain text, straight from the queue
// folder, with or without a running service (it reads only; nothing is claimed or changed).
//
//   sekisho queue list --workdir DIR [--json]      one line per message, oldest first
//   sekisho queue show ID --workdir DIR [--raw]    envelope and delivery state, then the message
//
// Both queue formats are read (docs/queue-format.md): format 2's queue file holds the message
// and its envelope, format 1 (queued before the upgrade) .MSG and .$CP.
import { createReadStream } from 'node:fs';
import { once } from 'node:events';
import { relative } from 'node:path';
import { UsageError, flag, requireOpt, type ParsedArgs } from '../args.js';
import { messageFile, readControl, scanQueue } from '../../queue/store.js';
import { isQueueId } from '../../queue/paths.js';
import { listClaimed, isClaimed } from '../../queue/claim.js';
import type { ControlRecord } from '../../queue/types.js';
import { localIso } from '../../logs/format.js';

/** `2026-11-23 18:11:59` in local time (the logs' clock). */
function when(iso: string): string {
  return localIso(new Date(iso)).slice(0, 19).replace('T', ' ');
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

/** The line of `queue list` for one record. */
export function listLine(r: ControlRecord, claimed: boolean): string {
  const pending = r.recipients.filter((x) => x.status === 'pending');
  const first = pending[0] ?? r.recipients[0];
  const more = pending.length > 1 ? ` +${pending.length - 1}` : '';
  const state = claimed ? 'being delivered' : `next ${when(r.nextAttemptAt)}`;
  const reply = first.lastReply ? `  ${first.lastReply}` : '';
  return (
    `${r.id}  ${when(r.receivedAt)}  ${pad(String(r.size), 8)}  ${pad(`<${r.from}>`, 28)}  ` +
    `${pending.length}/${r.recipients.length} ${first.address}${more}  ${state}  retries ${r.retries}${reply}`
  );
}

/** The head of `queue show`: everything the record says, one fact a line. */
export function showLines(r: ControlRecord, file: string, claimed: boolean): string[] {
  const c = r.client;
  const lines = [
    `Queue ID:   ${r.id}${r.origin === 'message' ? '' : ` (${r.origin}${r.bounceOf ? ` of ${r.bounceOf}` : ''})`}`,
    `File:       ${file} (${r.format})`,
    `Received:   ${when(r.receivedAt)} from ${c.ip || '?'} HELO ${c.helo || '?'}${c.authUser ? ` AUTH ${c.authUser}` : ''}`,
    `From:       <${r.from}>`,
    `Size:       ${r.size} bytes`,
    `Attempts:   ${r.retries} so far; ${claimed ? 'being delivered now' : `next ${when(r.nextAttemptAt)}`}`,
    'Recipients:',
  ];
  for (const x of r.recipients) {
    const orig = x.original && x.original.toLowerCase() !== x.address.toLowerCase() ? ` (RCPT ${x.original})` : '';
    const local = x.kind === 'local' ? ` (local: inbox/${x.user}/)` : '';
    lines.push(`  ${pad(x.status, 9)} <${x.address}>${orig}${local}  attempts ${x.attempts}`);
    if (x.lastReply) lines.push(`            last: ${x.lastReply}${x.lastHost ? ` (${x.lastHost})` : ''}${x.lastAttemptAt ? ` at ${when(x.lastAttemptAt)}` : ''}`);
  }
  const extra = r as ControlRecord & { bounceNow?: string };
  if (extra.bounceNow) lines.push(`Bounce requested by the administrator: ${extra.bounceNow}`);
  return lines;
}

async function write(text: string | Buffer): Promise<void> {
  if (!process.stdout.write(text)) await once(process.stdout, 'drain');
}

async function list(workdir: string, json: boolean): Promise<number> {
  const { records, problems } = await scanQueue(workdir);
  for (const p of problems) process.stderr.write(`sekisho queue: cannot read ${p.id}: ${p.message}\n`);
  if (json) {
    await write(JSON.stringify(records, null, 2) + '\n');
  } else {
    const claimed = await listClaimed(workdir);
    for (const r of records) await write(listLine(r, claimed.has(r.id)) + '\n');
    await write(`${records.length} message${records.length === 1 ? '' : 's'} queued${problems.length ? `, ${problems.length} unreadable` : ''}\n`);
  }
  return problems.length ? 1 : 0;
}

async function show(workdir: string, id: string, raw: boolean): Promise<number> {
  let record: ControlRecord;
  try {
    record = await readControl(workdir, id);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      process.stderr.write(`sekisho queue: ${id} is not queued (delivered, removed, or never accepted)\n`);
      return 1;
    }
    throw err;
  }
  const file = messageFile(workdir, record);
  if (!raw) {
    const lines = showLines(record, relative(workdir, file), await isClaimed(workdir, id));
    await write(lines.join('\n') + '\n\n');
  }
  // The message exactly as queued (our Received header first), never the envelope after it.
  if (record.size > 0) {
    for await (const chunk of createReadStream(file, { start: 0, end: record.size - 1 })) await write(chunk as Buffer);
  }
  return 0;
}

export async function run(args: ParsedArgs): Promise<number> {
  const workdir = requireOpt(args, 'workdir');
  const [sub, id] = args.positional;
  if (sub === 'list') return list(workdir, flag(args, 'json'));
  if (sub === 'show') {
    if (!id || !isQueueId(id)) throw new UsageError('queue show needs a queue ID like B0000000097');
    return show(workdir, id, flag(args, 'raw'));
  }
  throw new UsageError('queue needs list or show');
}
