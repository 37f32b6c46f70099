import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../config/run-cli.js';

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
});
