// Test helper: a ConfigSnapshot built from table text (as an admin writes it in Notepad),
// through the real table parsers of services/config, plus accounts and settings as data.
import { parseTable, tableErrors, tableRules } from '../../../services/config/tables.js';
import type { Account, ConfigSnapshot, SenderRule, TableName, UsetimeWindow } from '../../../services/config/types.js';
import { defaultSettings, type Settings } from '../../../services/config/settings.js';
import type { PolicySession } from '../../../services/policy/types.js';

type DeepPartial<T> = { [K in keyof T]?: T[K] extends Array<unknown> ? T[K] : T[K] extends object ? DeepPartial<T[K]> : T[K] };

export interface AccountSpec {
  password?: string;
  sendingDisabled?: boolean;
  /** `mon-fri 22:00-06:00`, `09:00-18:00`, `sat,sun 10:00-12:00` */
  usetime?: string[];
  /** `*@ext.jp,-1`, `*,0` */
  sender?: string[];
}

export interface SnapshotSpec {
  effect?: string;
  gateway?: string;
  aliases?: string;
  domains?: string;
  accounts?: Record<string, AccountSpec>;
  settings?: DeepPartial<Settings>;
}

function rules<N extends TableName>(name: N, text: string | undefined) {
  const doc = parseTable(name, (text ?? '').replace(/^\n/, ''));
  const errors = tableErrors(doc);
  if (errors.length) throw new Error(`test table ${name} has errors: ${JSON.stringify(errors)}`);
  return tableRules(doc);
}

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

function minutes(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return h * 60 + m;
}

function usetime(user: string, lines: string[]): UsetimeWindow[] {
  return lines.map((l, i) => {
    const m = /^(?:([a-z,-]+)\s+)?(\d\d:\d\d)-(\d\d:\d\d)$/.exec(l.trim());
    if (!m) throw new Error(`bad usetime ${l}`);
    let days = [0, 1, 2, 3, 4, 5, 6];
    if (m[1]) {
      days = [];
      for (const part of m[1].split(',')) {
        const [a, b] = part.split('-').map((d) => DAYS.indexOf(d));
        if (b === undefined) days.push(a);
        else for (let d = a; d !== (b + 1) % 7; d = (d + 1) % 7) days.push(d);
      }
    }
    return { days, start: minutes(m[2]), end: minutes(m[3]), ref: { file: `inbox/${user}/usetime.dat`, line: i + 1 } };
  });
}

function senderRules(user: string, lines: string[]): SenderRule[] {
  return lines.map((l, i) => {
    const [pattern, code] = l.split(',');
    return { pattern: pattern.trim().toLowerCase(), allow: code.trim() !== '-1', ref: { file: `inbox/${user}/sender.dat`, line: i + 1 } };
  });
}

function merge<T>(base: T, over: DeepPartial<T> | undefined): T {
  if (!over) return base;
  const out: any = Array.isArray(base) ? [...(base as any)] : { ...base };
  for (const [k, v] of Object.entries(over)) {
    out[k] = v && typeof v === 'object' && !Array.isArray(v) ? merge((base as any)[k], v as any) : v;
  }
  return out;
}

export function makeSnapshot(spec: SnapshotSpec = {}): ConfigSnapshot {
  const accounts = new Map<string, Account>();
  for (const [user, a] of Object.entries(spec.accounts ?? {})) {
    accounts.set(user, {
      user,
      password: a.password === undefined ? undefined : { kind: 'plain', value: a.password },
      sendingDisabled: a.sendingDisabled ?? false,
      usetime: usetime(user, a.usetime ?? []),
      senderRules: senderRules(user, a.sender ?? []),
    });
  }
  return {
    workdir: '/nonexistent',
    settings: merge(defaultSettings(), spec.settings),
    gateway: rules('gateway', spec.gateway),
    effect: rules('effect', spec.effect),
    aliases: rules('aliases', spec.aliases),
    domains: rules('domains', spec.domains),
    accounts,
    generation: 1,
    loadedAt: new Date(0),
  };
}

/** Monday 23 Nov 2026 10:00 local time unless told otherwise. */
export const MONDAY_10AM = new Date(2026, 10, 23, 10, 0);

export function session(over: Partial<PolicySession> = {}): PolicySession {
  return { clientIp: '203.0.113.9', clientHostname: '', helo: 'client.example', authUser: '', now: MONDAY_10AM, ...over };
}
