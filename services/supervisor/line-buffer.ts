// Debug output of a service (SPEC 11 "debug console"): the child's stdout/stderr split into
// lines, the last N kept for a console window opened late, each line also pushed as an event.

/** Splits a byte stream into lines (LF or CRLF), holding a partial last line until it ends. */
export class LineSplitter {
  private partial = '';
  private static readonly MAX_LINE = 64 * 1024;

  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: Buffer | string): void {
    const text = this.partial + chunk.toString();
    const parts = text.split('\n');
    this.partial = parts.pop() ?? '';
    // A child printing megabytes without a newline must not grow this buffer forever.
    if (this.partial.length > LineSplitter.MAX_LINE) {
      parts.push(this.partial);
      this.partial = '';
    }
    for (const p of parts) this.onLine(p.endsWith('\r') ? p.slice(0, -1) : p);
  }

  flush(): void {
    if (this.partial) this.onLine(this.partial);
    this.partial = '';
  }
}

/** The last `capacity` lines. */
export class RingBuffer<T> {
  private items: T[] = [];

  constructor(private readonly capacity: number) {}

  push(item: T): void {
    this.items.push(item);
    // Trim in batches so a busy debug stream does not shift the array on every line.
    if (this.items.length > this.capacity * 1.25) this.items = this.items.slice(-this.capacity);
  }

  toArray(): T[] {
    return this.items.slice(-this.capacity);
  }

  clear(): void {
    this.items = [];
  }
}
