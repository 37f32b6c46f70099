import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import { configFingerprint, loadConfig, readConfigFiles } from '../../../services/config/load.js';
import { defaultSettings } from '../../../services/config/settings.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sekisho-load-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('loadConfig', () => {
  it('an empty work folder is the defaults and empty tables', async () => {
    const { snapshot, diagnostics } = await loadConfig(dir);
    expect(diagnostics).toEqual([]);
    expect(snapshot).toMatchObject({ workdir: dir, gateway: [], effect: [], aliases: [], domains: [], generation: 1 });
    expect(snapshot!.settings).toEqual(defaultSettings());
    expect(snapshot!.accounts.size).toBe(0);
  });

  it('reads every file into one snapshot', async () => {
    await writeFile(join(dir, 'settings.json'), '{ "hostname": "gw.example.jp" }');
    await writeFile(join(dir, 'gateway.dat'), iconv.encode("' 本社\r\ntest.jp, 192.168.0.10\r\n", 'cp932'));
    await writeFile(join(dir, 'effect.dat'), '#<> default\n#blank false\n192.168.*.* norelay,2\n');
    await writeFile(join(dir, 'aliases.dat'), 'sales@test.jp -> bucho@test.jp\r\n');
    await writeFile(join(dir, 'domains.dat'), 'test.jp');
    await mkdir(join(dir, 'inbox', 'bucho'), { recursive: true });
    await writeFile(join(dir, 'inbox', 'bucho', 'apop.dat'), 'pw\r\n');
    const { snapshot, diagnostics } = await loadConfig(dir, { generation: 7 });
    expect(diagnostics).toEqual([]);
    expect(snapshot!.generation).toBe(7);
    expect(snapshot!.settings.hostname).toBe('gw.example.jp');
    expect(snapshot!.gateway).toEqual([{ domain: 'test.jp', host: '192.168.0.10', port: 25, ref: { file: 'gateway.dat', line: 2 } }]);
    expect(snapshot!.effect.map((r) => r.ref.line)).toEqual([1, 2, 3]);
    expect(snapshot!.aliases[0].targets).toEqual([{ local: 'bucho', domain: 'test.jp' }]);
    expect(snapshot!.domains.map((d) => d.domain)).toEqual(['test.jp']);
    expect([...snapshot!.accounts.keys()]).toEqual(['bucho']);
    // Shared between modules: immutable.
    expect(() => (snapshot!.gateway as unknown[]).push(1)).toThrow();
    expect(() => {
      (snapshot!.settings.receiver as { ports: number[] }).ports = [1];
    }).toThrow();
  });

  it('any error gives no snapshot and every diagnostic of every file', async () => {
    await writeFile(join(dir, 'gateway.dat'), 'test.jp, 192.168.0.10, 0\r\n');
    await writeFile(join(dir, 'domains.dat'), 'ok.jp\r\nbad..jp\r\n');
    await writeFile(join(dir, 'settings.json'), '{ "hostnam": "x" }');
    const { snapshot, diagnostics } = await loadConfig(dir);
    expect(snapshot).toBeNull();
    expect(diagnostics.map((d) => `${d.file}:${d.line}:${d.column} ${d.code}`).sort()).toEqual([
      'domains.dat:2:1 domains.bad-domain',
      'gateway.dat:1:24 gateway.bad-port',
      'settings.json:1:3 settings.unknown-key',
    ]);
  });

  it('a warning alone does not block the snapshot', async () => {
    await mkdir(join(dir, 'inbox', 'not valid'), { recursive: true });
    const { snapshot, diagnostics } = await loadConfig(dir);
    expect(snapshot).not.toBeNull();
    expect(diagnostics.map((d) => d.severity)).toEqual(['warning']);
  });

  it('a missing work folder is an error', async () => {
    const { snapshot, diagnostics } = await loadConfig(join(dir, 'missing'));
    expect(snapshot).toBeNull();
    expect(diagnostics[0].code).toBe('workdir.missing');
  });

  it('the fingerprint changes with any byte of any file, and only then', async () => {
    await writeFile(join(dir, 'domains.dat'), 'a.jp\r\n');
    const a = configFingerprint(await readConfigFiles(dir));
    expect(configFingerprint(await readConfigFiles(dir))).toBe(a);
    await writeFile(join(dir, 'domains.dat'), 'b.jp\r\n');
    const b = configFingerprint(await readConfigFiles(dir));
    expect(b).not.toBe(a);
    await mkdir(join(dir, 'inbox', 'u'), { recursive: true });
    await writeFile(join(dir, 'inbox', 'u', '$offsmtp'), '');
    expect(configFingerprint(await readConfigFiles(dir))).not.toBe(b);
  });
});
