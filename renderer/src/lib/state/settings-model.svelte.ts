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
  if (!PORT(s.control.port)) out.push({ path: 'control.port', key: 'check.port', params: { value: String(s.control.port) } });
  if (!s.control.bind.trim()) out.push({ path: 'control.bind', key: 'check.ip', params: { value: '' } });
  s.receiver.dnsbl.forEach((z, i) => {
    if (!HOSTNAME.test(z)) out.push({ path: `receiver.dnsbl.${i}`, key: 'check.hostname' });
  });
  return out;
};

export class SettingsModel {
  draft = $state<Settings | null>(null);
  version = $state('');
  /** Issue text by dotted key path (already in the UI language when from a local check). */
  issues = $state<Record<string, { key?: string; params?: Record<string, string | number>; message?: string }>>({});
  saving = $state(false);
  status = $state<null | 'saved' | 'invalid' | 'changed' | { error: string }>(null);
  private savedJson = $state('');

  constructor(private readonly api: SettingsApi) {}

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
