// The pieces of an owner record's start identity (liveness.ts) that do not need a second
// process; lockfile.test.ts has the real-process cases (PID reuse, live owners, old records).
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { bootId, procStartTicks, recordFields, startTicksFromStat, writerAlive } from '../../../services/queue/liveness.js';

describe('liveness', () => {
  it('reads field 22 of /proc/<pid>/stat even when the command name holds spaces and parentheses', () => {
    // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
    // cutime cstime priority nice threads itrealvalue starttime …
    const tail = 'S 1 2 3 0 -1 4194560 10 0 0 0 5 6 0 0 20 0 1 0 987654 1000 100';
    expect(startTicksFromStat(`4242 (node) ${tail}`)).toBe('987654');
    expect(startTicksFromStat(`4242 (my (odd) name) x) ${tail}`)).toBe('987654');
    expect(startTicksFromStat('4242 (node) S 1 2')).toBeNull();
    expect(startTicksFromStat('garbage')).toBeNull();
  });

  it.runIf(process.platform === 'linux')('knows this boot and this process’s start time', () => {
    expect(bootId()).toBe(readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim());
    expect(procStartTicks(process.pid)).toMatch(/^\d+$/);
    expect(procStartTicks(process.pid)).toBe(startTicksFromStat(readFileSync('/proc/self/stat', 'utf8')));
  });

  it('parses the key=value fields after the four positional ones', () => {
    const f = recordFields('12 host 2026-01-01T00:00:00.000Z ab12 boot=b-1 start=proc:99 junk\n');
    expect([...f]).toEqual([
      ['boot', 'b-1'],
      ['start', 'proc:99'],
    ]);
    expect(recordFields('12 host 2026-01-01T00:00:00.000Z ab12\n').size).toBe(0);
  });

  it('never follows a beacon name that is a path (a forged record), and calls its own process alive', () => {
    // `start=lock:..\x` is not a beacon name: judged by kill(pid, 0) alone — this process lives.
    expect(writerAlive(process.pid, new Map([['start', 'lock:..\\..\\x']]))).toBe(true);
    expect(writerAlive(process.pid, new Map())).toBe(true);
  });
});
