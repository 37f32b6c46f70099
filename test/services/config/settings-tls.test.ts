// The delivery TLS settings in settings.json: delivery.tlsVerify, tlsRequire, tlsCaFile —
// defaults, validation naming the key path, and the warning for a CA file that cannot be used.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultSettings, readCaFile, validateSettings } from '../../../services/config/settings.js';
import { readSettingsFile } from '../../../services/config/settings-file.js';
import { loadConfig } from '../../../services/config/load.js';
import { formatDiagnostic } from '../../../services/config/types.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sekisho-settings-tls-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A CA certificate made by openssl now (its key stays in the temporary folder). */
function makeCa(): string {
  const cert = join(dir, 'office-ca.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', join(dir, 'office-ca.key'), '-out', cert, '-days', '2', '-subj', '/CN=Office CA'], { stdio: 'ignore', timeout: 30_000 });
  return cert;
}

describe('delivery TLS settings', () => {
  it('default to the old behaviour: no verification, TLS not required, no extra CA', () => {
    expect(defaultSettings().delivery).toMatchObject({ tlsVerify: 'none', tlsRequire: 'none', tlsCaFile: '' });
    const r = validateSettings({ delivery: { smarthost: 'smtp.isp.ne.jp:587' } });
    expect(r.ok && r.settings.delivery).toMatchObject({ tlsVerify: 'none', tlsRequire: 'none', tlsCaFile: '' });
  });

  it('accept none / smarthost / all and a CA file path', () => {
    for (const level of ['none', 'smarthost', 'all'] as const) {
      const r = validateSettings({ delivery: { tlsVerify: level, tlsRequire: level, tlsCaFile: 'certs/office-ca.pem' } });
      expect(r.ok, level).toBe(true);
      if (r.ok) expect(r.settings.delivery).toMatchObject({ tlsVerify: level, tlsRequire: level, tlsCaFile: 'certs/office-ca.pem' });
    }
  });

  it('refuse another value, naming the key path (and its line in settings.json)', async () => {
    const r = validateSettings({ delivery: { tlsVerify: 'always', tlsRequire: true, tlsCaFile: 3 } });
    expect(r.ok).toBe(false);
    const paths = r.ok ? [] : r.issues.map((i) => i.path).sort();
    expect(paths).toEqual(['delivery.tlsCaFile', 'delivery.tlsRequire', 'delivery.tlsVerify']);
    const verify = !r.ok && r.issues.find((i) => i.path === 'delivery.tlsVerify');
    expect(verify && verify.message).toMatch(/"none"|none/);

    await writeFile(join(dir, 'settings.json'), '{\n  "delivery": {\n    "tlsVerify": "strict"\n  }\n}\n');
    const f = await readSettingsFile(dir);
    expect(f.settings).toBeNull();
    expect(f.issues).toEqual([expect.objectContaining({ line: 3, column: 5, code: 'settings.bad-value', severity: 'error' })]);
    expect(formatDiagnostic(f.issues[0])).toMatch(/^settings\.json:3:5: error: delivery\.tlsVerify: /);
    // A misspelt key is an error too, as for every other key.
    await writeFile(join(dir, 'settings.json'), '{ "delivery": { "tlsVerfy": "all" } }');
    expect((await readSettingsFile(dir)).issues[0]).toMatchObject({ code: 'settings.unknown-key', message: 'delivery.tlsVerfy: unknown key "tlsVerfy"' });
  });

  it('a CA file that cannot be used is a settings.json warning with its line; the configuration still applies', async () => {
    await writeFile(join(dir, 'settings.json'), '{\n  "delivery": {\n    "tlsVerify": "all",\n    "tlsCaFile": "office-ca.pem"\n  }\n}\n');
    let r = await loadConfig(dir);
    expect(r.snapshot).not.toBeNull();
    expect(r.diagnostics).toEqual([
      {
        file: 'settings.json',
        line: 4,
        column: 5,
        severity: 'warning',
        code: 'settings.tls-ca-file',
        message: `delivery.tlsCaFile ${join(dir, 'office-ca.pem')} cannot be read: no such file; deliveries that verify certificates are deferred until it is fixed`,
      },
    ]);

    await writeFile(join(dir, 'office-ca.pem'), 'not a certificate\r\n');
    r = await loadConfig(dir);
    expect(r.diagnostics[0].message).toMatch(/office-ca\.pem holds no PEM certificate/);

    await writeFile(join(dir, 'office-ca.pem'), '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    r = await loadConfig(dir);
    expect(r.diagnostics[0].message).toMatch(/office-ca\.pem: certificate 1 cannot be parsed/);

    makeCa();
    r = await loadConfig(dir);
    expect(r.diagnostics).toEqual([]);
  });

  it('reads the CA file relative to the work folder or from an absolute path', () => {
    const abs = makeCa();
    const rel = readCaFile(dir, 'office-ca.pem');
    expect(rel).toMatchObject({ ok: true, path: abs, certificates: 1 });
    expect(readCaFile('/elsewhere', abs)).toMatchObject({ ok: true, path: abs });
  });

  it('says the CA file is unused while tlsVerify is none', async () => {
    await writeFile(join(dir, 'settings.json'), '{ "delivery": { "tlsCaFile": "nowhere.pem" } }');
    const r = await loadConfig(dir);
    expect(r.diagnostics[0].message).toMatch(/cannot be read: no such file \(not used while delivery\.tlsVerify is none\)$/);
  });
});
