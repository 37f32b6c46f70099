// The settings.json form state shared by the Server settings, Relay rules and TLS tabs: a
// draft of the whole document, saved with the version it was read at, and the validation
// issues by key path (client-side checks in the UI language, then the schema's answer).
import type { Settings } from '../api/types.js';

export interface SettingsApi {
  readSettings(): Promise<{ settings: Settings; version: string }>;
  saveSettings(settings: unknown, baseVersion: string): Promise<{ ok: true; version: string } | { ok: false; issues: Array<{ path: string; message: string }> }>;
}

/** A client-side check: the i18n key of the problem, or null. */
export type Check = (s: Settings) => Array<{ path: string; key: string; params?: Record<string, string | number> }>;

const PORT = (n: unknown) => Number.isInteger(n) && (n as number) >= 1 && (n as number) <= 65535;
const NON_NEG = (n: unknown) => Number.isInteger(n) && (n as number) >= 0;
const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;
const IPV6 = /^[0-9a-f:]+$/i;

/** The checks the forms can make before asking the server (the schema stays the judge). */
export const settingsChecks: Check = (s) => {
  const out: ReturnType<Check> = [];
  if (!HOSTNAME.test(s.hostname)) out.push({ path: 'hostname', key: 'check.hostname' });
  const sh = s.delivery.smarthost.trim();
  if (sh) {
    const m = /^(\[[0-9a-f:]+\]|[^:\s]+)(?::(\d+))?$/i.exec(sh);
    if (!m || (m[2] !== undefined && !PORT(Number(m[2])))) out.push({ path: 'delivery.smarthost', key: 'check.smarthost' });
  }
  if (s.delivery.postmaster && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(s.delivery.postmaster)) out.push({ path: 'delivery.postmaster', key: 'check.address' });
  s.delivery.dnsServers.forEach((d, i) => {
    if (!IPV4.test(d) && !(d.includes(':') && IPV6.test(d))) out.push({ path: `delivery.dnsServers.${i}`, key: 'check.ip', params: { value: d } });
  });
  s.receiver.ports.forEach((p, i) => {
    if (!PORT(p)) out.push({ path: `receiver.ports.${i}`, key: 'check.port', params: { value: String(p) } });
  });
  for (const k of ['maxMessageBytes', 'maxRecipients', 'maxConnections'] as const) {
    if (!NON_NEG(s.receiver[k])) out.push({ path: `receiver.${k}`, key: 'check.nonNegative' });
  }
  const rp = s.receiver.processes;
  if (!(Number.isInteger(rp) && rp >= 1 && rp <= 16)) out.push({ path: 'receiver.processes', key: 'check.processes' });
  const d = s.delivery;
  if (!(Number.isInteger(d.workers) && d.workers >= 1 && d.workers <= 1000)) out.push({ path: 'delivery.workers', key: 'check.workers' });
  if (!PORT(d.outboundPort)) out.push({ path: 'delivery.outboundPort', key: 'check.port', params: { value: String(d.outboundPort ?? '') } });
  for (const k of ['retryIntervalSec', 'refusalRetries'] as const) {
    if (!NON_NEG(d[k])) out.push({ path: `delivery.${k}`, key: 'check.nonNegative' });
  }
  for (const k of ['abnormalHours', 'noResponseHours'] as const) {
    if (!(typeof d[k] === 'number' && Number.isFinite(d[k]) && d[k] >= 0)) out.push({ path: `delivery.${k}`, key: 'check.hours' });
  }
  for (const k of ['greetPauseMs', 'idleTimeoutSec', 'maxReceivedHeaders'] as const) {
    if (!NON_NEG(s.receiver[k])) out.push({ path: `receiver.${k}`, key: 'check.nonNegative' });
  }
  // Enabled with no method offers nothing (receiver/features.ts): say so rather than save it.
  if (s.auth.enabled && s.auth.methods.length === 0) out.push({ path: 'auth.methods', key: 'check.authMethods' });
  if (!NON_NEG(s.logs.retentionDays)) out.push({ path: 'logs.retentionDays', key: 'check.nonNegative' });
  if (!PORT(s.control.port)) out.push({ path: 'control.port', key: 'check.port', params: { value: String(s.control.port) } });
  if (!s.control.bind.trim()) out.push({ path: 'control.bind', key: 'check.ip', params: { value: '' } });
  s.receiver.dnsbl.forEach((z, i) => {
    if (!HOSTNAME.test(z)) out.push({ path: `receiver.dnsbl.${i}`, key: 'check.hostname' });
  });
  const rc = s.recipientCheck;
  rc.domains.forEach((d, i) => {
    if (!HOSTNAME.test(d.replace(/^\*\./, ''))) out.push({ path: `recipientCheck.domains.${i}`, key: 'check.rcDomain', params: { value: d } });
  });
  for (const k of ['existsCacheSec', 'unknownCacheSec'] as const) {
    if (!NON_NEG(rc[k])) out.push({ path: `recipientCheck.${k}`, key: 'check.nonNegative' });
  }
  const ranges = { timeoutSec: [1, 300], maxConcurrent: [1, 100], idleSec: [1, 300] } as const;
  for (const [k, [min, max]] of Object.entries(ranges) as Array<[keyof typeof ranges, readonly [number, number]]>) {
    const v = rc[k];
    if (!((k === 'timeoutSec' ? Number.isFinite(v) : Number.isInteger(v)) && v >= min && v <= max)) out.push({ path: `recipientCheck.${k}`, key: 'check.range', params: { min, max } });
  }
  return out;
};

/**
 * The example values settings.json starts with (SPEC 2; the schema defaults in
 * services/config/settings.ts). A gateway that still announces them is not ready for service.
 */
export const PLACEHOLDER_VALUES = { hostname: 'gw.test.jp', 'delivery.postmaster': 'postmaster@test.jp' } as const;

/** Key paths of `s` that still hold their example value (case-insensitive: names are). */
export function placeholderKeys(s: Settings): Array<keyof typeof PLACEHOLDER_VALUES> {
  const out: Array<keyof typeof PLACEHOLDER_VALUES> = [];
  if (s.hostname.trim().toLowerCase() === PLACEHOLDER_VALUES.hostname) out.push('hostname');
  if (s.delivery.postmaster.trim().toLowerCase() === PLACEHOLDER_VALUES['delivery.postmaster']) out.push('delivery.postmaster');
  return out;
}

export class SettingsModel {
  draft = $state<Settings | null>(null);
  version = $state('');
  /** Issue text by dotted key path (already in the UI language when from a local check). */
  issues = $state<Record<string, { key?: string; params?: Record<string, string | number>; message?: string }>>({});
  saving = $state(false);
  status = $state<null | 'saved' | 'invalid' | 'changed' | { error: string }>(null);
  private savedJson = $state('');

  constructor(private readonly api: SettingsApi) {}

  /** The settings as saved on disk (what the services run with), or null before the first load. */
  get saved(): Settings | null {
    return this.savedJson ? (JSON.parse(this.savedJson) as Settings) : null;
  }

  get dirty(): boolean {
    return this.draft !== null && JSON.stringify(this.draft) !== this.savedJson;
  }

  async load(): Promise<void> {
    try {
      const { settings, version } = await this.api.readSettings();
      this.draft = structuredClone(settings);
      this.savedJson = JSON.stringify(settings);
      this.version = version;
      this.issues = {};
      this.status = null;
    } catch (err) {
      this.status = { error: (err as Error).message };
    }
  }

  /** Issues of a key path and of anything below it (`receiver.ports` covers `receiver.ports.0`). */
  issueAt(path: string): (typeof this.issues)[string] | undefined {
    return this.issues[path] ?? Object.entries(this.issues).find(([p]) => p.startsWith(`${path}.`))?.[1];
  }

  async save(): Promise<boolean> {
    if (!this.draft) return false;
    const local = settingsChecks(this.draft);
    if (local.length) {
      this.issues = Object.fromEntries(local.map((i) => [i.path, { key: i.key, params: i.params }]));
      this.status = 'invalid';
      return false;
    }
    this.saving = true;
    try {
      const draft = $state.snapshot(this.draft) as Settings;
      const r = await this.api.saveSettings(draft, this.version);
      if (r.ok) {
        this.version = r.version;
        this.savedJson = JSON.stringify(draft);
        this.issues = {};
        this.status = 'saved';
        return true;
      }
      this.issues = Object.fromEntries(r.issues.map((i) => [i.path, { message: i.message }]));
      this.status = 'invalid';
      return false;
    } catch (err) {
      this.status = { error: (err as Error).message };
      return false;
    } finally {
      this.saving = false;
    }
  }

  /** settings.json changed on disk: reload when clean, otherwise say so. */
  onChanged(version: string): void {
    if (version === this.version || this.saving) return;
    if (this.dirty) this.status = 'changed';
    else void this.load();
  }
}
