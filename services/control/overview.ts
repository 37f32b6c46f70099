// The overview's "last errors": delivery failures from the sender log (logs/stats.ts), plus
// what the services and the configuration say now — a service that crashed or keeps failing
// to start, and a table or settings file the running services refused (they keep the last
// good version; docs/config.md).
import type { Diagnostic, ServiceStatus, TrafficError } from './api.js';
import { LAST_ERRORS } from '../logs/stats.js';

export function overviewErrors(
  fromLogs: readonly TrafficError[],
  services: readonly ServiceStatus[],
  configErrors: readonly Diagnostic[],
  now: Date = new Date(),
): TrafficError[] {
  const out: TrafficError[] = [...fromLogs];
  for (const s of services) {
    // A clean stop is not an error; a crash, a failed start or a backoff is. The text is the
    // service's own (ServiceStatus.lastError), which the UI translates like the status card.
    const failing = s.state === 'crashed' || s.state === 'backoff' || (s.lastExit !== null && s.lastExit.reason !== 'stopped');
    if (s.lastError && failing) {
      out.push({ at: s.lastExit?.at ?? now.toISOString(), source: s.name === 'receiver' ? 'receiver' : 'delivery', text: s.lastError });
    }
  }
  for (const d of configErrors) {
    out.push({
      at: now.toISOString(),
      source: 'config',
      text: `${d.file}${d.line ? `:${d.line}` : ''}${d.line && d.column ? `:${d.column}` : ''} ${d.message}`,
      diagnostic: d,
    });
  }
  // Newest last; entries without a time (a log line without prefix) first.
  out.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  return out.slice(-LAST_ERRORS);
}
