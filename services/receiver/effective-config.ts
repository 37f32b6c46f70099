// The first thing `--debug` prints: the configuration in force, one aligned `key value` line
// each (SPEC 9), so an admin sees at a glance what the receiver actually read.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConfigSnapshot } from '../config/types.js';
import { workPaths } from '../config/paths.js';

let cachedVersion: string | undefined;

/** package.json's version, from source (services/receiver) or from dist/services/receiver. */
export function sekishoVersion(): string {
  if (cachedVersion) return cachedVersion;
  const here = dirname(fileURLToPath(import.meta.url));
  for (const up of ['../..', '../../..']) {
    try {
      const pkg = JSON.parse(readFileSync(join(here, up, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'sekisho' && pkg.version) return (cachedVersion = pkg.version);
    } catch {
      // try the next level
    }
  }
  return (cachedVersion = 'unknown');
}

const limit = (n: number, unit = '') => (n > 0 ? `${n}${unit}` : '0 (unlimited)');

export function alignPairs(pairs: Array<[string, string]>): string[] {
  const width = Math.max(...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${k.padEnd(width)}  ${v}`);
}

/** `corp.jp, *.branch.jp; cache 86400/3600 s; timeout 10 s; 5 at once; unavailable -> 450 4.1.1`. */
function recipientCheckLine(rc: ConfigSnapshot['settings']['recipientCheck']): string {
  const which = [...rc.domains, ...(rc.allRoutedDomains ? ['every gateway.dat domain'] : [])];
  if (!which.length) return 'off';
  const unavailable = rc.whenUnavailable === 'tempfail' ? '450 4.1.1' : 'accept';
  return `${which.join(', ')}; cache exists ${rc.existsCacheSec} s, unknown ${rc.unknownCacheSec} s; timeout ${rc.timeoutSec} s; ${rc.maxConcurrent} at once; unavailable -> ${unavailable}`;
}

export function effectiveConfigLines(snap: ConfigSnapshot, listen: { ports: number[]; implicitTlsPorts: number[]; tls: boolean }): string[] {
  const s = snap.settings;
  const r = s.receiver;
  const p = workPaths(snap.workdir);
  const authState = !s.auth.enabled
    ? 'off'
    : r.requireTlsForAuth && !listen.tls
      ? `off (requireTlsForAuth and no certificate)`
      : `${s.auth.methods.join(' ') || '(no method)'}${r.requireTlsForAuth ? ' after TLS' : ''}`;
  const pairs: Array<[string, string]> = [
    ['version', `Sekisho ${sekishoVersion()} receiver (node ${process.versions.node})`],
    ['workdir', p.root],
    ['hostname', s.hostname],
    ['bind', r.bind],
    ['ports', listen.ports.join(',') || '-'],
    ['implicitTlsPorts', listen.implicitTlsPorts.join(',') || '-'],
    ['tls', listen.tls ? `cert=${s.tls.cert} key=${s.tls.key} (STARTTLS offered)` : 'off (no tls.cert/tls.key)'],
    ['auth', authState],
    ['accountSendersNeedAuth', String(s.auth.accountSendersNeedAuth)],
    ['maxMessageBytes', limit(r.maxMessageBytes)],
    ['maxRecipients', limit(r.maxRecipients)],
    ['maxConnections', limit(r.maxConnections)],
    ['maxReceivedHeaders', limit(r.maxReceivedHeaders)],
    ['idleTimeoutSec', limit(r.idleTimeoutSec)],
    ['greetPauseMs', String(r.greetPauseMs)],
    ['vrfyExpn', String(r.vrfyExpn)],
    ['dnsbl', r.dnsbl.join(', ') || '(none)'],
    ['recipientCheck', recipientCheckLine(s.recipientCheck)],
    ['domains', snap.domains.map((d) => d.domain).join(', ') || '(none)'],
    ['accounts', String(snap.accounts.size)],
    ['effect.dat', `${snap.effect.length} rules`],
    ['aliases.dat', `${snap.aliases.length} rules`],
    ['gateway.dat', `${snap.gateway.length} rules`],
    ['settings', p.settings],
    ['queue', p.incoming],
    ['inbox', p.inbox],
    ['log', `${p.logAccept} ${p.logReceive} ${p.logSender}`],
    ['config', `generation ${snap.generation} loaded ${snap.loadedAt.toISOString()}`],
  ];
  return alignPairs(pairs);
}
