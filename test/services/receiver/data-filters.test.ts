import { describe, it, expect } from 'vitest';
import { ReceivedCounter, SmugglingDetector } from '../../../services/receiver/data-filters.js';

/** Feed `text` to a detector in every possible split into two chunks, and one byte at a time. */
function detectAllSplits(text: string): boolean[] {
  const buf = Buffer.from(text, 'latin1');
  const results: boolean[] = [];
  for (let cut = 0; cut <= buf.length; cut++) {
    const d = new SmugglingDetector();
    d.push(buf.subarray(0, cut));
    d.push(buf.subarray(cut));
    results.push(d.finish());
  }
  const bytewise = new SmugglingDetector();
  for (let i = 0; i < buf.length; i++) bytewise.push(buf.subarray(i, i + 1));
  results.push(bytewise.finish());
  return results;
}

describe('SmugglingDetector', () => {
  it.each([
    ['<LF>.<LF>', 'a\r\nb\n.\nMAIL FROM:<x@y>\r\n'],
    ['<LF>.<CRLF>', 'a\r\nb\n.\r\nMAIL FROM:<x@y>\r\n'],
    ['<CR>.<CR>', 'a\r\nb\r.\rMAIL FROM:<x@y>\r\n'],
    ['<CRLF>.<LF>', 'a\r\nb\r\n.\nMAIL FROM:<x@y>\r\n'],
    ['<CRLF>.<CR>', 'a\r\nb\r\n.\rMAIL FROM:<x@y>\r\n'],
    ['<CR>.<CRLF>', 'a\r\nb\r.\r\nMAIL FROM:<x@y>\r\n'],
    ['dot line with bare LF at the very start', '.\nMAIL FROM:<x@y>\r\n'],
  ])('flags %s wherever the chunks are cut', (_name, text) => {
    expect(detectAllSplits(text).every(Boolean)).toBe(true);
  });

  it.each([
    ['a plain message', 'Subject: x\r\n\r\nhello\r\nworld\r\n'],
    ['a real "." line (unstuffed from "..")', 'Subject: x\r\n\r\nline\r\n.\r\nafter\r\n'],
    ['a "." line first', '.\r\nafter\r\n'],
    ['dots inside lines', 'a.b\r\n...\r\n.x\r\nx.\r\n'],
    ['bare LF without a dot line (kept as content)', 'a\nb\nc\r\n'],
    ['a dot after a bare LF that starts text', 'a\n.b\r\n'],
    ['empty content', ''],
  ])('passes %s', (_name, text) => {
    expect(detectAllSplits(text).some(Boolean)).toBe(false);
  });
});

describe('ReceivedCounter', () => {
  const count = (text: string, chunk = 0) => {
    const c = new ReceivedCounter();
    const buf = Buffer.from(text, 'latin1');
    if (!chunk) c.push(buf);
    else for (let i = 0; i < buf.length; i += chunk) c.push(buf.subarray(i, i + chunk));
    return c;
  };

  it('counts Received fields of the header section only, in any chunking', () => {
    const text =
      'Received: from a by b; x\r\nreceived : from c\r\n  by d\r\nRECEIVED:e\r\nSubject: s\r\nX-Received: no\r\n\r\nReceived: in the body\r\n';
    for (const n of [0, 1, 2, 3, 7]) {
      const c = count(text, n);
      expect(c.count).toBe(3);
      expect(c.headerEnded).toBe(true);
    }
  });

  it('ends the header section at an empty line with a bare LF too', () => {
    expect(count('Received: a\n\nReceived: b\n').count).toBe(1);
  });

  it('counts a message without a body', () => {
    const c = count('Received: a\r\nReceived: b\r\n');
    expect(c.count).toBe(2);
    expect(c.headerEnded).toBe(false);
  });
});
