// A big message streams through a process in 64 KiB chunks: every socket read and every file
// read is a fresh Buffer whose memory lives outside V8's heap. V8 frees such a buffer only when
// a garbage collection finds it dead, and it starts one because of them only when that outside
// memory has grown by 64 MiB since the last collection; the chunks themselves leave almost no
// garbage on the heap, so nothing else triggers one either. Measured with a bare net server
// passing 50 MB to a file: +33 MB RSS of already consumed chunks; with a young-generation
// collection every 2 MiB streamed: +9.6 MB (docs/benchmarks.md "50 MB message").
//
// So the code that moves message bytes (the receiver's DATA loop, delivery's file stream)
// counts them here (the receiver from a message's second MiB on, delivery for the messages it
// streams from the file, above 256 KB), and every STEP bytes a minor (scavenge) collection frees
// the chunks that are done with: a fraction of a millisecond, since the young generation is
// small. Ordinary traffic never calls it; its own allocations trigger collections soon enough.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Bytes streamed between two collections. */
export const STEP = 2 * 1024 * 1024;

type GcFn = (options?: { type?: 'minor' | 'major'; execution?: 'sync' }) => void;

let gcFn: GcFn | null | undefined;
let since = 0;
let collections = 0;

/** V8's gc(), made reachable once: without --expose-gc on the command line (the children are
 * started by the supervisor, the bench, Electron), the flag is set now and a fresh context
 * carries the function; the main context's globals stay as they are. */
function collector(): GcFn | null {
  if (gcFn !== undefined) return gcFn;
  try {
    const existing = (globalThis as { gc?: GcFn }).gc;
    if (typeof existing === 'function') gcFn = existing;
    else {
      setFlagsFromString('--expose-gc');
      const fn = runInNewContext('gc') as unknown;
      gcFn = typeof fn === 'function' ? (fn as GcFn) : null;
    }
  } catch {
    gcFn = null; // an embedder that refuses the flag: only the RSS figure suffers
  }
  return gcFn;
}

/** Count `n` bytes of message data that just went by; collect the young generation every STEP. */
export function streamed(n: number): void {
  since += n;
  if (since < STEP) return;
  since = 0;
  const gc = collector();
  if (!gc) return;
  gc({ type: 'minor' });
  collections++;
}

/** How many collections streamed() has started in this process (tests, --debug). */
export function streamedCollections(): number {
  return collections;
}
