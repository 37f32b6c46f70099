import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import { runCli } from '../config/run-cli.js';
import { initWorkdir } from '../../../services/config/init.js';
import { checkWorkdir } from '../../../services/cli/commands/check.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sekisho-cli-check-'));
  await initWorkdir(dir);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('sekisho check', () => {
  it('exits 0 with OK and counts on a clean folder', async () => {
    await appendFile(join(dir, 'domains.dat'), 'test.jp\r\n');
    await appendFile(join(dir, 'gateway.dat'), 'test.jp, 192.168.0.10\r\n');
    // RFC 5321 4.5.1: postmaster must be reachable, or check warns (domains.no-postmaster).
    await appendFile(join(dir, 'aliases.dat'), 'postmaster@test.jp -> postmaster@test.jp\r\n');
    const r = await runCli(['check', '--workdir', dir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('OK: settings.json, gateway.dat 1 route, effect.dat 2 rules, aliases.dat 1 alias, domains.dat 1 domain, 0 accounts, 0 warnings\n');
  });

  it('exits 1 naming file:line:col for every broken line, in every file', async () => {
    // A CP932 effect.dat as Notepad writes it, with a Japanese comment.
    await writeFile(join(dir, 'effect.dat'), iconv.encode("' 本社のメールサーバ\r\n#<> default\r\n192.168.0.10 trsut\r\n", 'cp932'));
    await writeFile(join(dir, 'aliases.dat'), 'sales@test.jp bucho@test.jp\r\n');
    await writeFile(join(dir, 'settings.json'), '{\n  "receiver": { "portz": [25] }\n}\n');
    await mkdir(join(dir, 'inbox', 'bucho'));
    await writeFile(join(dir, 'inbox', 'bucho', 'usetime.dat'), 'mon-fri 08:00-18:70\r\n');
    const r = await runCli(['check', '--workdir', dir]);
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toContain('effect.dat:3:14: error: "trsut" is not an action; use true, default, false, only, norelay, norelay,2 or norelay,0');
    expect(lines).toContain('aliases.dat:1:1: error: an alias line is "alias -> address[, address...]" and this one has no "->"');
    expect(lines).toContain('settings.json:2:17: error: receiver.portz: unknown key "portz"');
    expect(lines).toContainEqual(expect.stringMatching(/^inbox\/bucho\/usetime\.dat:1:15: error: "18:70" is not a time/));
    expect(lines[lines.length - 1]).toMatch(/^4 errors, 0 warnings/);
  });

  it('a missing work folder is an error', async () => {
    const r = await runCli(['check', '--workdir', join(dir, 'nope')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('does not exist');
  });

  it('config warnings are printed but do not fail the check', async () => {
    const report = await checkWorkdir(dir, {
      warnings: () => [{ file: 'aliases.dat', line: 3, column: 1, severity: 'warning', code: 'alias.wildcard', message: 'mode A' }],
    });
    expect(report.exitCode).toBe(0);
    expect(report.lines).toEqual(['aliases.dat:3:1: warning: mode A', expect.stringMatching(/^OK: .*1 warning$/)]);
  });

  it('the real CLI prints the policy warnings (mode A, dangerous true, dead lines) and still exits 0', async () => {
    await appendFile(join(dir, 'domains.dat'), 'test.jp\r\n');
    await appendFile(join(dir, 'aliases.dat'), '*@test.jp -> *@test.jp\r\n');
    await appendFile(join(dir, 'effect.dat'), '192.168.*.* true\r\n10.0.0.1 only\r\n10.0.0.2 default\r\n');
    const r = await runCli(['check', '--workdir', dir]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toContainEqual(expect.stringMatching(/^aliases\.dat:\d+(:\d+)?: warning: .*mode A/));
    expect(lines).toContainEqual(expect.stringMatching(/^effect\.dat:\d+(:\d+)?: warning: dead rule/));
    expect(lines.filter((l) => l.startsWith('effect.dat:')).length).toBeGreaterThanOrEqual(2);
    expect(lines[lines.length - 1]).toMatch(/^OK: .* [1-9]\d* warnings?$/);
  });

  it('without --workdir it is a usage error', async () => {
    const r = await runCli(['check']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('missing --workdir');
  });
});
