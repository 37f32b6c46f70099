// What every delivery test file sets up the same way: sinks and runners that are closed after
// each test (in reverse order), plus a list for anything else a test opens.
import { afterEach } from 'vitest';
import { startDelivery, type DeliveryService } from '../../../../services/delivery/index.js';
import { startSink, type Sink } from './servers.js';

/** Call once at the top of a test file; registers the afterEach that closes what was opened. */
export function deliveryFixtures() {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  });
  return {
    cleanups,
    async sink(o: Parameters<typeof startSink>[0] = {}): Promise<Sink> {
      const s = await startSink(o);
      cleanups.push(() => s.close());
      return s;
    },
    async runner(workdir: string, lines?: string[]): Promise<DeliveryService> {
      const d = await startDelivery({ workdir, debug: lines ? (l) => lines.push(l) : undefined, rescanMs: 500 });
      cleanups.push(() => d.close());
      return d;
    },
  };
}
