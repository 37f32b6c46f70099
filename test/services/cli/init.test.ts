import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../config/run-cli.js';
import { execFileSync } from 'node:child_process';
import { cliCommand } from '../../../services/cli/spawn.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sekisho-cli-init-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('sekisho init', () => {
  it('creates a work folder, prints what it created, and check passes on it', async () => {
    const work = join(dir, 'mail');
    const r = await runCli(['init', '--workdir', work, '--port', '2525', '20025', '--control-port', '18025', '--hostname', 'gw.example.jp']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    for (const f of ['settings.json', 'gateway.dat', 'effect.dat', 'aliases.dat', 'domains.dat']) {
      expect(r.stdout).toContain(`created ${join(work, f)}\n`);
    }
    expect(r.stdout).toContain(`created ${join(work, 'log', 'accept')}`);
    const settings = JSON.parse(await readFile(join(work, 'settings.json'), 'utf8'));
    expect(settings.receiver.ports).toEqual([2525, 20025]);
    expect(settings.control.port).toBe(18025);
    expect(settings.hostname).toBe('gw.example.jp');

    const check = await runCli(['check', '--workdir', work]);
    expect(check.code).toBe(0);
    expect(check.stdout).toMatch(/^OK: /m);

    // Run twice: nothing is overwritten.
    const again = await runCli(['init', '--workdir', work]);
    expect(again.code).toBe(0);
    expect(again.stdout).not.toContain('created');
    expect(JSON.parse(await readFile(join(work, 'settings.json'), 'utf8')).receiver.ports).toEqual([2525, 20025]);
  });

  it('defaults to port 25 as the SPEC says', async () => {
    const r = await runCli(['init', '--workdir', dir]);
    expect(r.code).toBe(0);
    expect(JSON.parse(await readFile(join(dir, 'settings.json'), 'utf8')).receiver.ports).toEqual([25]);
  });

  it('a bad option is a usage error (exit 2)', async () => {
    const r = await runCli(['init', '--workdir', dir, '--port', '70000']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--port: "70000" is not a port number');
  });

  it('--lang ja|en picks the language of the table comments; the default follows LANG', async () => {
    const ja = await runCli(['init', '--workdir', join(dir, 'ja'), '--lang', 'ja']);
    expect(ja.code).toBe(0);
    expect(await readFile(join(dir, 'ja', 'gateway.dat'), 'utf8')).toContain('配送先テーブル');
    const en = await runCli(['init', '--workdir', join(dir, 'en'), '--lang', 'en']);
    expect(en.code).toBe(0);
    expect(await readFile(join(dir, 'en', 'gateway.dat'), 'utf8')).not.toMatch(/[^\x00-\x7f]/);
    const bad = await runCli(['init', '--workdir', join(dir, 'fr'), '--lang', 'fr']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--lang: "fr" is not ja or en');

    // No --lang: the system locale (LC_ALL, LC_MESSAGES, LANG) decides.
    const cmd = cliCommand(['init', '--workdir', join(dir, 'locale')]);
    const env: NodeJS.ProcessEnv = { ...cmd.env, LANG: 'ja_JP.UTF-8' };
    delete env.LC_ALL;
    delete env.LC_MESSAGES;
    execFileSync(cmd.command, cmd.args, { env, stdio: 'ignore', timeout: 20_000 });
    if (process.platform !== 'win32') expect(await readFile(join(dir, 'locale', 'effect.dat'), 'utf8')).toContain('中継設定');
  });
});
