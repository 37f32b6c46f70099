// The head of the --debug trace (SPEC 9): the effective configuration, one aligned
// `key value` line each. No secret ever appears: the smarthost password is shown as set/unset.
import type { ConfigSnapshot } from '../config/types.js';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

function version(): string {
  // services/delivery/ -> package.json two folders up, from source and from dist/ alike.
  const here = dirname(fileURLToPath(import.meta.url));
  for (const p of [join(here, '..', '..', 'package.json'), join(here, '..', '..', '..', 'package.json')]) {
    try {
      return (JSON.parse(readFileSync(p, 'utf8')) as { version: string }).version;
    } catch {
      /* next */
    }
  }
  return 'unknown';
}

export function configLines(snap: ConfigSnapshot): string[] {
  const d = snap.settings.delivery;
  const pairs: Array<[string, string]> = [
    ['version', version()],
    ['workdir', snap.workdir],
    ['hostname', snap.settings.hostname],
    ['workers', String(d.workers)],
    ['smarthost', d.smarthost || '(none)'],
    ['smarthostAuth', d.smarthostUser ? `${d.smarthostUser} (password ${d.smarthostPassword ? 'set' : 'empty'})` : '(none)'],
    ['forwardAll', String(d.forwardAll)],
    ['dnsServers', d.dnsServers.length ? d.dnsServers.join(' ') : '(system)'],
    ['outboundPort', String(d.outboundPort)],
    ['retryIntervalSec', String(d.retryIntervalSec)],
    ['refusalRetries', String(d.refusalRetries)],
    ['abnormalHours', String(d.abnormalHours)],
    ['noResponseHours', String(d.noResponseHours)],
    ['connectTimeoutSec', String(d.connectTimeoutSec)],
    ['replyTimeoutSec', String(d.replyTimeoutSec)],
    ['postmaster', d.postmaster],
    ['bounceFormat', d.bounceFormat],
    ['tlsVerify', d.tlsVerify],
    ['tlsRequire', d.tlsRequire],
    ['tlsCaFile', d.tlsCaFile || '(none)'],
    ['recycleQueueFiles', String(d.recycleQueueFiles)],
    ['gateway.dat', `${snap.gateway.length} rules`],
    ['receiverPorts', [...snap.settings.receiver.ports, ...snap.settings.receiver.implicitTlsPorts].join(' ')],
  ];
  const width = Math.max(...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${k.padEnd(width)}  ${v}`);
}

/** `HH:MM:SS.mmm` local time, as the receiver's trace shows it. */
export function clock(d = new Date()): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

/** A trace line after the configuration block: time, then the log ID when there is one, so the
 * lines of concurrent deliveries can be told apart (`12:00:01.234 [B0000000186-R0001] route …`). */
export function traceLine(id: string | null, text: string): string {
  return `${clock()} ${id ? `[${id}] ` : ''}${text}`;
}
