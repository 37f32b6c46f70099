import { describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_BACKOFF } from '../../../services/supervisor/backoff.js';
import { exitReason } from '../../../services/supervisor/exit-reason.js';
import { parseReadyLine } from '../../../services/supervisor/ready-line.js';
import { LineSplitter, RingBuffer } from '../../../services/supervisor/line-buffer.js';

describe('backoffDelay', () => {
  it('doubles from 1 s and stops at 60 s', () => {
    const d = [1, 2, 3, 4, 5, 6, 7, 8, 50].map((n) => backoffDelay(DEFAULT_BACKOFF, n));
    expect(d).toEqual([1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]);
  });
});

describe('parseReadyLine', () => {
  it('reads the ports of the receiver and a bare ready of delivery', () => {
    expect(parseReadyLine('ready ports=2525,2526')).toEqual({ ports: [2525, 2526] });
    expect(parseReadyLine('ready')).toEqual({ ports: [] });
    expect(parseReadyLine('ready\r')).toEqual({ ports: [] });
  });
  it('ignores lines that only contain the word', () => {
    expect(parseReadyLine('not ready yet')).toBeNull();
    expect(parseReadyLine('readying')).toBeNull();
  });
});

describe('exitReason', () => {
  it('keeps the message of the child without the command prefix', () => {
    expect(exitReason('receiver', ['sekisho receiver: port 2525 is already in use'], 1, null)).toBe(
      'port 2525 is already in use',
    );
  });
  it('keeps one wording for a port in use whatever the child appended', () => {
    expect(exitReason('receiver', ['sekisho receiver: port 2525 is already in use (EADDRINUSE)'], 1, null)).toBe(
      'port 2525 is already in use',
    );
  });
  it('turns a raw EADDRINUSE stack into the admin sentence', () => {
    const stack = ['sekisho receiver: Error: listen EADDRINUSE: address already in use 0.0.0.0:25', '    at Server.setupListenHandle'];
    expect(exitReason('receiver', stack, 1, null)).toBe('port 25 is already in use');
    expect(exitReason('receiver', ['Error: listen EADDRINUSE: address already in use :::20025'], 1, null)).toBe(
      'port 20025 is already in use',
    );
  });
  it('falls back to the code or the signal', () => {
    expect(exitReason('delivery', [], 3, null)).toBe('exited with code 3');
    expect(exitReason('delivery', ['', '  '], null, 'SIGSEGV')).toBe('killed by signal SIGSEGV');
  });
});

describe('LineSplitter and RingBuffer', () => {
  it('splits CRLF and LF across chunks and keeps the last N', () => {
    const ring = new RingBuffer<string>(3);
    const s = new LineSplitter((l) => ring.push(l));
    s.push('a\r\nb');
    s.push('\nc\nd\n');
    s.push('e');
    s.flush();
    expect(ring.toArray()).toEqual(['c', 'd', 'e']);
  });
});
