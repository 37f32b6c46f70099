/// <reference types="svelte" />
// SettingsModel (the Server settings / Relay limits / TLS forms) against the real handlers on
// a fresh work folder: local checks before the server, the schema's answer, dirty, and
// settings.json changed on disk.
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { mkdtemp, rm, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SettingsModel, settingsChecks, placeholderKeys, PLACEHOLDER_VALUES } from '../../renderer/src/lib/state/settings-model.svelte.js';
import { createControlApi } from '../../services/control/handlers.js';
import { Supervisor } from '../../services/supervisor/index.js';
import { initWorkdir } from '../../services/config/init.js';
import { defaultSettings } from '../../services/config/settings.js';
import type { ControlApi } from '../../services/control/api.js';

let dir: string;
let api: ControlApi;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sekisho-settings-ui-'));
  await initWorkdir(dir, { ports: [2525], controlPort: 8025 });
  api = createControlApi({ workdir: dir, supervisor: new Supervisor({ workdir: dir }) });
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const settingsOnDisk = async () => JSON.parse(await readFile(join(dir, 'settings.json'), 'utf8'));

describe('settingsChecks', () => {
  it('passes the defaults and names each bad field by its key path', () => {
    expect(settingsChecks(defaultSettings())).toEqual([]);
    const s = defaultSettings();
    s.hostname = 'bad host';
    s.delivery.smarthost = 'smtp.isp.jp:99999';
    s.delivery.postmaster = 'nobody';
    s.delivery.dnsServers = ['8.8.8.8', 'dns.example'];
    s.receiver.ports = [25, NaN];
    s.receiver.maxRecipients = -1;
    expect(settingsChecks(s).map((i) => `${i.path} ${i.key}`)).toEqual([
      'hostname check.hostname',
      'delivery.smarthost check.smarthost',
      'delivery.postmaster check.address',
      'delivery.dnsServers.1 check.ip',
      'receiver.ports.1 check.port',
      'receiver.maxRecipients check.nonNegative',
    ]);
    s.delivery.smarthost = '[2001:db8::1]:587';
    expect(settingsChecks(s).some((i) => i.path === 'delivery.smarthost')).toBe(false);
  });
});

describe('settingsChecks: delivery, auth, receiver and logs fields', () => {
  it('marks each bad value by key path (an emptied number field is undefined)', () => {
    const s = defaultSettings();
    s.delivery.workers = 0;
    s.delivery.outboundPort = 70000;
    s.delivery.retryIntervalSec = 1.5;
    (s.delivery as Record<string, unknown>).refusalRetries = undefined;
    s.delivery.abnormalHours = -1;
    s.delivery.noResponseHours = 0.5; // hours may be fractional (the schema says so)
    s.receiver.greetPauseMs = -5;
    s.receiver.processes = 0;
    s.receiver.idleTimeoutSec = 0; // 0 = never
    (s.receiver as Record<string, unknown>).maxReceivedHeaders = undefined;
    s.auth.methods = [];
    s.logs.retentionDays = -1;
    expect(settingsChecks(s).map((i) => `${i.path} ${i.key}`)).toEqual([
      'receiver.processes check.processes',
      'delivery.workers check.workers',
      'delivery.outboundPort check.port',
      'delivery.retryIntervalSec check.nonNegative',
      'delivery.refusalRetries check.nonNegative',
      'delivery.abnormalHours check.hours',
      'receiver.greetPauseMs check.nonNegative',
      'receiver.maxReceivedHeaders check.nonNegative',
      'auth.methods check.authMethods',
      'logs.retentionDays check.nonNegative',
    ]);
    // No method is fine when AUTH is off.
    s.auth.enabled = false;
    expect(settingsChecks(s).some((i) => i.path === 'auth.methods')).toBe(false);
  });
});

describe('placeholder values (hostname, postmaster)', () => {
  it('are the schema defaults, and are found until both are changed', () => {
    const s = defaultSettings();
    expect(s.hostname).toBe(PLACEHOLDER_VALUES.hostname);
    expect(s.delivery.postmaster).toBe(PLACEHOLDER_VALUES['delivery.postmaster']);
    expect(placeholderKeys(s)).toEqual(['hostname', 'delivery.postmaster']);
    s.hostname = 'GW.TEST.JP';
    expect(placeholderKeys(s)).toEqual(['hostname', 'delivery.postmaster']);
    s.hostname = 'mail.example.co.jp';
    expect(placeholderKeys(s)).toEqual(['delivery.postmaster']);
    s.delivery.postmaster = 'postmaster@example.co.jp';
    expect(placeholderKeys(s)).toEqual([]);
  });

  it('are judged on what is saved, not on the draft being typed', async () => {
    const m = new SettingsModel(api);
    await m.load();
    expect(placeholderKeys(m.saved!)).toEqual(['hostname', 'delivery.postmaster']);
    m.draft!.hostname = 'mail.example.co.jp';
    m.draft!.delivery.postmaster = 'postmaster@example.co.jp';
    expect(placeholderKeys(m.saved!)).toEqual(['hostname', 'delivery.postmaster']);
    expect(await m.save()).toBe(true);
    expect(placeholderKeys(m.saved!)).toEqual([]);
  });
});

describe('SettingsModel', () => {
  it('saves the delivery, auth, receiver and logs fields of the Server settings tab', async () => {
    const m = new SettingsModel(api);
    await m.load();
    const d = m.draft!;
    Object.assign(d.delivery, {
      workers: 5,
      retryIntervalSec: 300,
      refusalRetries: 0,
      abnormalHours: 12,
      noResponseHours: 48,
      bounceFormat: 'classic',
      outboundPort: 587,
      smarthostUser: 'isp-user',
      smarthostPassword: 'isp-pass',
    });
    Object.assign(d.auth, { enabled: true, methods: ['PLAIN', 'LOGIN'], accountSendersNeedAuth: false });
    Object.assign(d.receiver, { requireTlsForAuth: false, greetPauseMs: 3000, idleTimeoutSec: 120, maxReceivedHeaders: 30, vrfyExpn: true });
    d.logs.retentionDays = 30;
    expect(await m.save()).toBe(true);
    const disk = await settingsOnDisk();
    expect(disk.delivery).toMatchObject({
      workers: 5,
      retryIntervalSec: 300,
      refusalRetries: 0,
      abnormalHours: 12,
      noResponseHours: 48,
      bounceFormat: 'classic',
      outboundPort: 587,
      smarthostUser: 'isp-user',
      smarthostPassword: 'isp-pass',
    });
    expect(disk.auth).toEqual({ enabled: true, methods: ['PLAIN', 'LOGIN'], accountSendersNeedAuth: false });
    expect(disk.receiver).toMatchObject({ requireTlsForAuth: false, greetPauseMs: 3000, idleTimeoutSec: 120, maxReceivedHeaders: 30, vrfyExpn: true });
    expect(disk.logs.retentionDays).toBe(30);
  });

  it('a value only the schema refuses (an unknown AUTH method) comes back on its field', async () => {
    const m = new SettingsModel(api);
    await m.load();
    (m.draft!.auth as Record<string, unknown>).methods = ['PLAIN', 'DIGEST-MD5'];
    expect(await m.save()).toBe(false);
    expect(m.issueAt('auth.methods')?.message).toBeTruthy();
  });

  it('loads clean, becomes dirty on edit, saves to settings.json and is clean again', async () => {
    const m = new SettingsModel(api);
    await m.load();
    expect(m.dirty).toBe(false);
    m.draft!.delivery.smarthost = 'smtp.isp.ne.jp:587';
    m.draft!.receiver.dnsbl = ['zen.spamhaus.org'];
    expect(m.dirty).toBe(true);
    expect(await m.save()).toBe(true);
    expect(m.status).toBe('saved');
    expect(m.dirty).toBe(false);
    const disk = await settingsOnDisk();
    expect(disk.delivery.smarthost).toBe('smtp.isp.ne.jp:587');
    expect(disk.receiver.dnsbl).toEqual(['zen.spamhaus.org']);
  });

  it('a local check stops the save before the server and marks the field', async () => {
    const m = new SettingsModel(api);
    await m.load();
    const before = await readFile(join(dir, 'settings.json'));
    m.draft!.receiver.ports = [0];
    expect(await m.save()).toBe(false);
    expect(m.status).toBe('invalid');
    expect(m.issueAt('receiver.ports')).toEqual({ key: 'check.port', params: { value: '0' } });
    expect(await readFile(join(dir, 'settings.json'))).toEqual(before);
  });

  it('the schema has the last word: its issues are shown by key path', async () => {
    const m = new SettingsModel(api);
    await m.load();
    (m.draft!.delivery as Record<string, unknown>).bounceFormat = 'fancy';
    expect(await m.save()).toBe(false);
    expect(m.issueAt('delivery.bounceFormat')?.message).toBeTruthy();
  });

  it('settings.json changed on disk: reloads when clean, says so when dirty', async () => {
    const m = new SettingsModel(api);
    await m.load();
    const disk = await settingsOnDisk();
    disk.hostname = 'gw2.test.jp';
    await writeFile(join(dir, 'settings.json'), JSON.stringify(disk, null, 2));
    const { version } = await api.readSettings();
    m.onChanged(version);
    for (let i = 0; i < 100 && m.draft?.hostname !== 'gw2.test.jp'; i++) await new Promise((r) => setTimeout(r, 10));
    expect(m.draft!.hostname).toBe('gw2.test.jp');

    m.draft!.hostname = 'mine.test.jp';
    disk.hostname = 'gw3.test.jp';
    await writeFile(join(dir, 'settings.json'), JSON.stringify(disk, null, 2));
    m.onChanged((await api.readSettings()).version);
    expect(m.status).toBe('changed');
    expect(m.draft!.hostname).toBe('mine.test.jp');
  });
});
