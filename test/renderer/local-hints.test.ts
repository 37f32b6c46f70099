// The editor's instant hints (renderer/src/lib/state/local-hints.ts) against the policy
// engine's warnings for the same effect.dat: the same code on the same lines, so a row shows
// the warning before the server answers and does not change when it does.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localHints } from '../../renderer/src/lib/state/local-hints.js';
import { initWorkdir } from '../../services/config/init.js';
import { loadConfig } from '../../services/config/load.js';
import { configWarnings } from '../../services/policy/warnings.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sekisho-hints-'));
  await initWorkdir(dir, { ports: [2525] });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const CODE = 'effect.null-sender-first';
const linesWith = (lines: string[], code: string) => localHints('effect', lines).filter((d) => d.code === code).map((d) => d.line);

/** The server's warnings of `code` for this effect.dat, by line. */
async function serverLines(lines: string[], code: string): Promise<number[]> {
  await writeFile(join(dir, 'effect.dat'), lines.join('\r\n') + '\r\n');
  const { snapshot, diagnostics } = await loadConfig(dir);
  expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return configWarnings(snapshot!).filter((d) => d.code === code && d.file === 'effect.dat').map((d) => d.line);
}

describe('local hint effect.null-sender-first', () => {
  it('marks a trusted IP, CIDR, wildcard or domain line (true or no action) below a #<> line that does not trust', async () => {
    const lines = [
      "' bounces from anyone: local recipients only",
      '#<> default',
      '192.168.0.5 true',
      '10.0.*.* true',
      'mail.lan.test',
      'pc@lan.test true',
      '#blank true',
      '192.168.0.6 default',
      '192.168.0.7 norelay,2',
      '192.168.0.0/28 only',
      '192.168.0.8 true',
    ];
    // The `only` line (10) is marked too; line 11 is dead after it and gets that warning instead.
    expect(linesWith(lines, CODE)).toEqual([3, 4, 5, 10]);
    expect(await serverLines(lines, CODE)).toEqual([3, 4, 5, 10]);
    expect(linesWith(lines, 'effect.dead-after-only')).toEqual([11]);
    const hint = localHints('effect', lines).find((d) => d.line === 3 && d.code === CODE)!;
    expect(hint.severity).toBe('warning');
    expect(hint.file).toBe('effect.dat');
    expect(hint.message).toContain('effect.dat:2 "#<> default"');
  });

  it('agrees with the server line for line', async () => {
    const lines = ['#< norelay , 2', '127.0.0.1 true', '192.168.1.*  true', 'lan.test', 'pc@lan.test true', '192.168.0.9 false'];
    expect(linesWith(lines, CODE)).toEqual([2, 3, 4]);
    expect(await serverLines(lines, CODE)).toEqual([2, 3, 4]);
  });

  it('is silent when the trusted lines stand above the #<> line, or when #<> itself trusts', async () => {
    const above = ["' LAN", '192.168.0.5 true', '127.0.0.1 true', '#<> default', '#blank false'];
    expect(linesWith(above, CODE)).toEqual([]);
    expect(await serverLines(above, CODE)).toEqual([]);
    const trusting = ['#<> true', '192.168.0.5 true', '127.0.0.1'];
    expect(linesWith(trusting, CODE)).toEqual([]);
    expect(await serverLines(trusting, CODE)).toEqual([]);
  });

  it('the first #<> line decides: `only` hosts below a non-trusting one are marked, nothing below a trusting one', async () => {
    const onlyBelow = ['#<> default', '192.168.0.0/28 only'];
    expect(linesWith(onlyBelow, CODE)).toEqual([2]);
    expect(await serverLines(onlyBelow, CODE)).toEqual([2]);
    const secondNull = ['#<> true', '#<> false', '192.168.0.5 true'];
    expect(linesWith(secondNull, CODE)).toEqual([]);
    expect(await serverLines(secondNull, CODE)).toEqual([]);
  });

  it('comments and blank lines between do not matter; moving the line up clears it', () => {
    const lines = ['#<> false', "' the mail server", '', '192.168.0.5 true'];
    expect(linesWith(lines, CODE)).toEqual([4]);
    expect(linesWith([lines[3], ...lines.slice(0, 3)], CODE)).toEqual([]);
  });
});
