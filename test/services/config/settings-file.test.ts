import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSettingsFile, writeSettingsFile } from '../../../services/config/settings-file.js';
import { defaultSettings } from '../../../services/config/settings.js';
import { formatDiagnostic } from '../../../services/config/types.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sekisho-settings-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('settings.json', () => {
  it('a missing file is the defaults', async () => {
    const r = await readSettingsFile(dir);
    expect(r).toMatchObject({ exists: false, issues: [], version: 'absent' });
    expect(r.settings).toEqual(defaultSettings());
  });

  it('missing keys take their defaults; a BOM is accepted', async () => {
    await writeFile(join(dir, 'settings.json'), '\ufeff{ "hostname": "gw.example.jp", "receiver": { "ports": [25, 20025] } }');
    const r = await readSettingsFile(dir);
    expect(r.issues).toEqual([]);
    expect(r.settings!.hostname).toBe('gw.example.jp');
    expect(r.settings!.receiver.ports).toEqual([25, 20025]);
    expect(r.settings!.delivery.retryIntervalSec).toBe(120);
  });

  it('an unknown key is an error naming its key path and line:column', async () => {
    await writeFile(join(dir, 'settings.json'), '{\n  "receiver": {\n    "ports": [25],\n    "prots": [26]\n  }\n}\n');
    const r = await readSettingsFile(dir);
    expect(r.settings).toBeNull();
    expect(r.issues).toEqual([
      expect.objectContaining({ file: 'settings.json', line: 4, column: 5, code: 'settings.unknown-key', severity: 'error' }),
    ]);
    expect(r.issues[0].message).toMatch(/^receiver\.prots: unknown key/);
  });

  it('a wrong type is an error naming its key path', async () => {
    await writeFile(join(dir, 'settings.json'), '{\n  "receiver": { "ports": [25, 70000] },\n  "auth": { "enabled": "yes" }\n}\n');
    const r = await readSettingsFile(dir);
    expect(r.settings).toBeNull();
    const byPath = Object.fromEntries(r.issues.map((i) => [i.message.split(':')[0], i]));
    expect(byPath['receiver.ports.1']).toMatchObject({ line: 2, column: 31, code: 'settings.bad-value' });
    expect(byPath['auth.enabled']).toMatchObject({ line: 3, column: 13, code: 'settings.bad-value' });
    expect(formatDiagnostic(byPath['auth.enabled'])).toMatch(/^settings\.json:3:13: error: auth\.enabled: /);
  });

  it('a JSON syntax error names line and column', async () => {
    await writeFile(join(dir, 'settings.json'), '{\n  "hostname": "gw.test.jp",\n}\n');
    const r = await readSettingsFile(dir);
    expect(r.settings).toBeNull();
    expect(r.issues).toEqual([expect.objectContaining({ file: 'settings.json', line: 3, column: 1, code: 'settings.syntax' })]);
  });

  it('an empty file is an error, not the defaults (it may be half written)', async () => {
    await writeFile(join(dir, 'settings.json'), '');
    const r = await readSettingsFile(dir);
    expect(r.settings).toBeNull();
    expect(r.issues[0].code).toBe('settings.syntax');
  });

  it('writes atomically with 2-space indent and a final newline, and refuses invalid settings', async () => {
    const s = defaultSettings();
    s.receiver.ports = [2525];
    const { version } = await writeSettingsFile(dir, s);
    const text = await readFile(join(dir, 'settings.json'), 'utf8');
    expect(text).toBe(JSON.stringify(s, null, 2) + '\n');
    expect(text).toContain('\n  "receiver": {\n    "bind"');
    expect((await readSettingsFile(dir)).version).toBe(version);
    await expect(writeSettingsFile(dir, { ...s, extra: 1 })).rejects.toThrow(/extra/);
    expect(await readFile(join(dir, 'settings.json'), 'utf8')).toBe(text);
  });
});
