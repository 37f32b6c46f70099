// The management API (services/control/api.ts) as plain async functions over the work folder
// and the supervisor. The Electron preload and the HTTP server of `sekisho serve` are thin
// adapters over this one object, so a test of a handler is a test of both UIs.
//
// Errors meant for the administrator are ControlErrors (status 400/404/409); a failed child
// start is not an error of the call: the returned ServiceStatus says `crashed` + lastError.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { isAbsolute, join } from 'node:path';
import type {
  AccountView,
  ControlApi,
  Diagnostic,
  ExplainRequest,
  LogQuery,
  LogSearchQuery,
  QueueEntry,
  SaveTableRequest,
  SaveTableResult,
  ServiceName,
  ServiceStatus,
  TableName,
  TableView,
  TlsInfo,
} from './api.js';
import { badRequest, conflict, ControlError, notFound } from './errors.js';
import { readVersion } from './version.js';
import { workingSnapshot } from './snapshot.js';
import {
  AccountError,
  createAccount,
  deleteAccount,
  readAccountFiles,
  setAccountPassword,
  setSendingDisabled,
  userNameProblem,
} from '../config/accounts.js';
import { decodeText, splitLines } from '../config/codec.js';
import { loadConfig } from '../config/load.js';
import { workPaths } from '../config/paths.js';
import { readSettingsFile, writeSettingsFile } from '../config/settings-file.js';
import { defaultSettings, validateSettings, type Settings } from '../config/settings.js';
import { parseLines, readTableDocument, ruleFields, tableRules, TABLE_NAMES, writeTableLines, type RuleOf } from '../config/tables.js';
import { TABLE_FILES, type TableLine } from '../config/types.js';
import { configWarnings } from '../policy/warnings.js';
import { explain as explainPolicy } from '../policy/explain.js';
import { clearRecipientCache as clearRecipientCacheFile, isFresh, readRecipientCache } from '../config/recipient-cache.js';
import { parseAddress } from '../policy/address.js';
import { claimMessage, isClaimed } from '../queue/claim.js';
import { isQueueId } from '../queue/paths.js';
import { listQueue as listQueueRecords, readControl, removeMessage, writeControl } from '../queue/store.js';
import { readLog as readLogFiles } from '../logs/read.js';
import { searchLogs as searchLogFiles } from '../logs/search.js';
import { DayTraffic } from '../logs/stats.js';
import { dayName, parseDayName } from '../logs/paths.js';
import { overviewErrors } from './overview.js';
import type { ControlRecord } from '../queue/types.js';

/** What the handlers need of the Supervisor (services/supervisor), so Electron can pass its own. */
export interface ServiceControl {
  statusAll(): ServiceStatus[];
  status(name: ServiceName): ServiceStatus;
  start(name: ServiceName, opts?: { debug?: boolean }): Promise<ServiceStatus>;
  stop(name: ServiceName): Promise<ServiceStatus>;
  restart(name: ServiceName, opts?: { debug?: boolean }): Promise<ServiceStatus>;
  debugOutput(name: ServiceName): string[];
  services(): ServiceName[];
}

export interface ControlApiOptions {
  workdir: string;
  supervisor: ServiceControl;
  /** Shown by version(); Electron passes process.versions.electron. */
  electronVersion?: string;
  /**
   * What shutdown() does: `sekisho serve` passes its graceful stop (children stopped, then exit
   * 0). Absent (the Electron app): shutdown() is refused with 409.
   */
  requestShutdown?: () => void;
}

/** Reason written into a message the administrator bounces (see bounceMessage). */
export const ADMIN_BOUNCE_REASON = 'deleted by administrator';

/** Receiver settings that only a restart applies: the listening sockets and their TLS. */
function listenerKey(s: Settings): string {
  const r = s.receiver;
  return JSON.stringify([r.bind, r.ports, r.implicitTlsPorts, s.tls.cert, s.tls.key]);
}

function ownAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .flatMap((a) => (a ? [a.address] : []));
}

/** One write at a time per file: check-version-then-write must not interleave. */
class Serial {
  private tail = new Map<string, Promise<unknown>>();

  run<T>(key: string, job: () => Promise<T>): Promise<T> {
    const prev = this.tail.get(key) ?? Promise.resolve();
    const next = prev.then(job, job);
    const settled = next.catch(() => {});
    this.tail.set(key, settled);
    settled.then(() => {
      if (this.tail.get(key) === settled) this.tail.delete(key);
    });
    return next;
  }
}

function checkTable(table: unknown): TableName {
  if (typeof table !== 'string' || !(TABLE_NAMES as readonly string[]).includes(table)) {
    throw badRequest(`unknown table "${String(table)}" (one of ${TABLE_NAMES.join(', ')})`);
  }
  return table as TableName;
}

function checkLines(lines: unknown): string[] {
  if (!Array.isArray(lines) || !lines.every((l) => typeof l === 'string')) throw badRequest('lines must be a list of strings');
  return lines as string[];
}

function checkService(supervisor: ServiceControl, name: unknown): ServiceName {
  if (typeof name !== 'string' || !supervisor.services().includes(name as ServiceName)) {
    throw badRequest(`unknown service "${String(name)}"`);
  }
  return name as ServiceName;
}

function checkId(id: unknown): string {
  if (typeof id !== 'string' || !isQueueId(id)) throw badRequest(`"${String(id)}" is not a queue ID (B followed by ten digits)`);
  return id;
}

function accountError(err: unknown): never {
  if (err instanceof AccountError) {
    const status = err.code === 'not-found' ? 404 : err.code === 'exists' || err.code === 'has-mail' ? 409 : 400;
    throw new ControlError(status, err.message);
  }
  throw err;
}

/** How apop.dat keeps the password: hashed ($scrypt$) or as text (needed by CRAM-MD5). */
function passwordKindOf(bytes: Buffer | null): AccountView['passwordKind'] {
  if (!bytes) return null;
  const first = splitLines(decodeText(bytes).text).lines[0]?.trim() ?? '';
  if (!first) return null;
  return first.startsWith('$scrypt$') ? 'hashed' : 'plain';
}

/** Comment and blank lines of the small account files shown as they are; rules as written. */
function ruleLinesOf(bytes: Buffer | null): string[] {
  if (!bytes) return [];
  return splitLines(decodeText(bytes).text)
    .lines.map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith("'"));
}

export function createControlApi(opts: ControlApiOptions): ControlApi {
  const { workdir, supervisor } = opts;
  const serial = new Serial();
  // The overview asks for today's counts again and again: keep the counters of the last days
  // asked for, each reading only what the logs gained since (logs/stats.ts).
  const traffic = new Map<string, DayTraffic>();
  const dayTraffic = (day: string): DayTraffic => {
    let t = traffic.get(day);
    if (!t) {
      t = new DayTraffic(workdir, day);
      traffic.set(day, t);
      if (traffic.size > 3) traffic.delete(traffic.keys().next().value!);
    }
    return t;
  };

  /** Policy warnings of one table file, judged with `rules` in place of what is on disk. */
  async function tableWarnings<N extends TableName>(table: N, rules?: RuleOf<N>[]): Promise<Diagnostic[]> {
    const snap = await workingSnapshot(workdir, rules ? { [table]: rules } : {});
    const file = TABLE_FILES[table];
    return configWarnings(snap, { ownAddresses: ownAddresses() }).filter((d) => d.file === file);
  }

  function lineErrors<R>(lines: TableLine<R>[]): Diagnostic[] {
    return lines.flatMap((l) => l.errors ?? (l.error ? [l.error] : []));
  }

  async function readTable(tableArg: TableName): Promise<TableView> {
    const table = checkTable(tableArg);
    const doc = await readTableDocument(workdir, table);
    return {
      table,
      file: doc.file,
      format: doc.format,
      version: doc.version,
      lines: doc.lines.map((l) => ({
        line: l.line,
        raw: l.raw,
        kind: l.kind,
        ...(l.kind === 'rule' ? { fields: ruleFields(table, l.rule as RuleOf<typeof table>) } : {}),
      })),
      diagnostics: [...lineErrors(doc.lines), ...(await tableWarnings(table, tableRules(doc)))],
    };
  }

  async function validate(table: TableName, lines: string[]): Promise<{ errors: Diagnostic[]; warnings: Diagnostic[] }> {
    const parsed = parseLines(table, lines);
    const errors = lineErrors(parsed);
    lines.forEach((l, i) => {
      if (/[\r\n]/.test(l)) {
        errors.push({ file: TABLE_FILES[table], line: i + 1, column: 0, severity: 'error', code: 'table.line-break', message: 'a line must not contain a line break' });
      }
    });
    const rules = parsed.flatMap((l) => (l.kind === 'rule' ? [l.rule!] : []));
    return { errors, warnings: await tableWarnings(table, rules) };
  }

  async function saveTable(req: SaveTableRequest): Promise<SaveTableResult> {
    if (!req || typeof req !== 'object') throw badRequest('saveTable needs { table, lines, baseVersion }');
    const table = checkTable(req.table);
    const lines = checkLines(req.lines);
    if (typeof req.baseVersion !== 'string') throw badRequest('baseVersion must be the version readTable returned');
    return serial.run(table, async () => {
      const { errors, warnings } = await validate(table, lines);
      if (errors.length) return { ok: false, reason: 'invalid', diagnostics: [...errors, ...warnings] };
      const current = await readTableDocument(workdir, table);
      if (!req.force && current.version !== req.baseVersion) {
        return { ok: false, reason: 'conflict', current: await readTable(table) };
      }
      try {
        const written = await writeTableLines(workdir, table, lines);
        return { ok: true, version: written.version, diagnostics: warnings };
      } catch (err) {
        // A character the file's encoding (CP932) cannot hold: refuse rather than write '?'.
        const message = (err as Error).message;
        return {
          ok: false,
          reason: 'invalid',
          diagnostics: [{ file: TABLE_FILES[table], line: 0, column: 0, severity: 'error', code: 'table.encoding', message }],
        };
      }
    });
  }

  async function importAliases(addresses: string[]): Promise<SaveTableResult> {
    const list = checkLines(addresses);
    const doc = await readTableDocument(workdir, 'aliases');
    const present = new Set(tableRules(doc).map((r) => `${r.alias.local}@${r.alias.domain}`));
    const added: string[] = [];
    for (const raw of list) {
      const addr = raw.trim();
      if (!addr || addr.startsWith("'")) continue;
      const p = parseAddress(addr);
      const key = `${p.local}@${p.domain}`.toLowerCase();
      if (present.has(key)) continue;
      present.add(key);
      // Mode B (SPEC 5): each real address accepts exactly itself.
      added.push(`${addr} -> ${addr}`);
    }
    if (!added.length) return { ok: true, version: doc.version, diagnostics: await tableWarnings('aliases', tableRules(doc)) };
    return saveTable({ table: 'aliases', lines: [...doc.lines.map((l) => l.raw), ...added], baseVersion: doc.version });
  }

  async function readSettings(): Promise<{ settings: Settings; version: string }> {
    const f = await readSettingsFile(workdir);
    if (!f.settings) {
      throw badRequest(`settings.json has errors: ${f.issues.map((i) => `${i.line ? `line ${i.line}: ` : ''}${i.message}`).join('; ')}`);
    }
    return { settings: f.settings, version: f.version };
  }

  async function saveSettings(value: unknown, baseVersion: string) {
    return serial.run('settings', async () => {
      const v = validateSettings(value);
      if (!v.ok) return { ok: false as const, issues: v.issues };
      const current = await readSettingsFile(workdir);
      if (current.version !== baseVersion) {
        return {
          ok: false as const,
          issues: [{ path: '', message: 'settings.json was changed elsewhere since it was loaded: reload it and apply the change again' }],
        };
      }
      const written = await writeSettingsFile(workdir, v.settings);
      // Ports, bind address and certificate belong to the listening sockets: apply them by a
      // clean restart of a receiver that runs (or is trying to). Everything else is hot-reloaded.
      const receiver = supervisor.services().includes('receiver') ? supervisor.status('receiver') : null;
      if (receiver && receiver.state !== 'stopped' && (!current.settings || listenerKey(current.settings) !== listenerKey(v.settings))) {
        await supervisor.restart('receiver').catch(() => {});
      }
      return { ok: true as const, version: written.version };
    });
  }

  async function warnings(): Promise<Diagnostic[]> {
    const { diagnostics } = await loadConfig(workdir);
    const snap = await workingSnapshot(workdir);
    const seen = new Set<string>();
    return [...diagnostics, ...configWarnings(snap, { ownAddresses: ownAddresses() })].filter((d) => {
      const key = `${d.file}:${d.line}:${d.column}:${d.code}:${d.message}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  }

  async function configHealth(): Promise<{ errors: Diagnostic[]; warnings: Diagnostic[] }> {
    const all = await warnings();
    return { errors: all.filter((d) => d.severity === 'error'), warnings: all.filter((d) => d.severity !== 'error') };
  }

  async function listAccounts(): Promise<AccountView[]> {
    const out: AccountView[] = [];
    for (const f of await readAccountFiles(workdir)) {
      if (userNameProblem(f.dir)) continue;
      out.push({
        user: f.dir.toLowerCase(),
        hasPassword: f.apop !== null && decodeText(f.apop).text.trim() !== '',
        passwordKind: passwordKindOf(f.apop),
        sendingDisabled: f.offsmtp,
        usetime: ruleLinesOf(f.usetime),
        senderRules: ruleLinesOf(f.sender),
      });
    }
    return out;
  }

  async function service<T>(name: ServiceName, job: (n: ServiceName) => Promise<T>): Promise<ServiceStatus> {
    const n = checkService(supervisor, name);
    try {
      await job(n);
    } catch {
      // The reason is in the status (lastError); the call itself did its job.
    }
    return supervisor.status(n);
  }

  /** Hold the delivery claim while changing a message, so no runner works on it meanwhile. */
  async function withMessage(idArg: string, busy: 'skip' | 'refuse', change: (r: ControlRecord, id: string) => Promise<void>) {
    const id = checkId(idArg);
    const claim = await claimMessage(workdir, id).catch((err) => {
      // No incoming/ folder at all: nothing was ever queued.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    });
    if (!claim) {
      const exists = await readControl(workdir, id).then(
        () => true,
        () => false,
      );
      if (!exists) throw notFound(`message ${id} is not in the queue (delivered or removed meanwhile)`);
      if (busy === 'skip') return;
      throw conflict(`message ${id} is being delivered right now; try again when this attempt is over`);
    }
    try {
      const record = await readControl(workdir, id).catch((err) => {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(`message ${id} is not in the queue`);
        throw err;
      });
      await change(record, id);
    } finally {
      await claim.release();
    }
  }

  async function tlsInfo(): Promise<TlsInfo> {
    const { settings } = await readSettings();
    const { cert, key } = settings.tls;
    const info: TlsInfo = { cert, key };
    if (!cert && !key) return info;
    const resolvePath = (p: string) => (isAbsolute(p) ? p : join(workPaths(workdir).root, p));
    try {
      if (!cert) throw new Error('tls.key is set but tls.cert is empty');
      const x509 = new X509Certificate(await readFile(resolvePath(cert)));
      info.subject = x509.subject.split('\n').join(', ');
      info.validTo = new Date(x509.validTo).toISOString();
      const problems: string[] = [];
      if (Date.parse(x509.validTo) < Date.now()) problems.push(`the certificate expired on ${info.validTo}`);
      if (Date.parse(x509.validFrom) > Date.now()) problems.push(`the certificate is not valid before ${new Date(x509.validFrom).toISOString()}`);
      if (!key) problems.push('tls.key is empty');
      else if (!x509.checkPrivateKey(createPrivateKey(await readFile(resolvePath(key))))) {
        problems.push('the key does not belong to the certificate');
      }
      if (problems.length) info.error = problems.join('; ');
    } catch (err) {
      info.error = (err as Error).message;
    }
    return info;
  }

  const api: ControlApi = {
    readTable,
    async validateTable(tableArg, lines) {
      const table = checkTable(tableArg);
      const { errors, warnings } = await validate(table, checkLines(lines));
      return [...errors, ...warnings];
    },
    saveTable,
    importAliases,

    readSettings,
    saveSettings,
    warnings,

    listAccounts,
    async createAccount(user, password, o) {
      await createAccount(workdir, String(user), String(password), { plain: o?.reversible === true }).catch(accountError);
    },
    async setPassword(user, password, o) {
      await setAccountPassword(workdir, String(user), String(password), { plain: o?.reversible === true }).catch(accountError);
    },
    async setSendingDisabled(user, disabled) {
      await setSendingDisabled(workdir, String(user), disabled === true).catch(accountError);
    },
    async deleteAccount(user) {
      await deleteAccount(workdir, String(user)).catch(accountError);
    },

    async serviceStatus() {
      return supervisor.statusAll();
    },
    startService: (name) => service(name, (n) => supervisor.start(n)),
    stopService: (name) => service(name, (n) => supervisor.stop(n)),
    restartService: (name, o) =>
      service(name, (n) => supervisor.restart(n, typeof o?.debug === 'boolean' ? { debug: o.debug } : {})),
    async debugOutput(name) {
      return supervisor.debugOutput(checkService(supervisor, name));
    },

    async listQueue(): Promise<QueueEntry[]> {
      const records = await listQueueRecords(workdir, () => {});
      // Only messages with a lock file can be claimed: look at those, not at every message.
      let names: string[] = [];
      try {
        names = await readdir(workPaths(workdir).incoming);
      } catch {
        // No queue folder yet: nothing is locked.
      }
      const lockNames = new Set(names.filter((n) => n.endsWith('.lock')).map((n) => n.slice(0, -5)));
      return Promise.all(
        records.map(async (r) => ({ ...r, locked: lockNames.has(r.id) ? await isClaimed(workdir, r.id) : false })),
      );
    },
    async retryNow(id) {
      // A message being delivered right now is being retried already.
      await withMessage(id, 'skip', async (record) => {
        // retryRequestedAt: the delivery process (another process) then really connects, even
        // to a hop it found unreachable a moment ago (docs/queue-format.md).
        const now = new Date().toISOString();
        await writeControl(workdir, { ...record, nextAttemptAt: now, retryRequestedAt: now });
      });
    },
    async deleteMessage(id) {
      await withMessage(id, 'refuse', async (_record, qid) => {
        await removeMessage(workdir, qid, { recycle: false, waitForFlush: true });
      });
    },
    async bounceMessage(id) {
      await withMessage(id, 'refuse', async (record) => {
        if (!record.recipients.some((r) => r.status === 'pending')) throw badRequest(`message ${record.id} has no recipient left to bounce`);
        // The delivery runner owns bounces (format, null sender, double bounce): it fails every
        // pending recipient of a record carrying `bounceNow` with that reason at its next
        // attempt, queues the bounce, then removes the message (docs/control-api.md).
        const marked = { ...record, bounceNow: ADMIN_BOUNCE_REASON, nextAttemptAt: new Date().toISOString() };
        await writeControl(workdir, marked as ControlRecord);
      });
    },

    async readLog(q: LogQuery) {
      if (!q || typeof q !== 'object' || !['accept', 'receive', 'sender'].includes(q.kind)) {
        throw badRequest('readLog needs { kind: "accept" | "receive" | "sender" }');
      }
      if (q.day !== undefined && !/^\d{6}$/.test(q.day)) throw badRequest('day must be YYMMDD');
      return readLogFiles(workdir, q);
    },
    async searchLogs(q: LogSearchQuery) {
      if (!q || typeof q !== 'object' || typeof q.text !== 'string' || !q.text.trim()) {
        throw badRequest('searchLogs needs { text }: an address, a queue ID or an IP');
      }
      if (q.day !== undefined && !/^\d{6}$/.test(q.day)) throw badRequest('day must be YYMMDD');
      if (q.kinds !== undefined && (!Array.isArray(q.kinds) || !q.kinds.every((k) => ['accept', 'receive', 'sender'].includes(k)))) {
        throw badRequest('kinds must be a list of "accept", "receive", "sender"');
      }
      return searchLogFiles(workdir, q);
    },
    async trafficStats(day?: string) {
      if (day !== undefined && day !== null && (typeof day !== 'string' || !parseDayName(day))) throw badRequest('day must be YYMMDD');
      const stats = await dayTraffic(day ?? dayName(new Date())).update();
      const health = await configHealth();
      return { ...stats, lastErrors: overviewErrors(stats.lastErrors, supervisor.statusAll(), health.errors) };
    },
    configHealth,

    async explain(req: ExplainRequest) {
      if (!req || typeof req !== 'object' || typeof req.client !== 'string' || typeof req.from !== 'string' || !Array.isArray(req.to)) {
        throw badRequest('explain needs { client, from, to: [...] }');
      }
      const { snapshot, diagnostics } = await loadConfig(workdir);
      if (!snapshot) {
        const errors = diagnostics.filter((d) => d.severity === 'error');
        throw badRequest(
          `the configuration has errors, fix them first: ${errors.map((d) => `${d.file}${d.line ? `:${d.line}` : ''} ${d.message}`).join('; ')}`,
        );
      }
      // Recipient verification: what the receiver has cached (explain never asks itself).
      const cache = new Map((await readRecipientCache(workdir)).entries.map((e) => [e.address, e]));
      return explainPolicy(snapshot, { ...req, to: req.to.map(String) }, { recipientCheck: (a) => cache.get(a) });
    },

    // verify-cache.json: the control process edits the file; a running receiver merges the
    // change (a clear is a tombstone) at its next look, within a few seconds (docs/receiver.md).
    async listRecipientCache() {
      const [data, settings] = await Promise.all([readRecipientCache(workdir), readSettingsFile(workdir)]);
      const life = (settings.settings ?? defaultSettings()).recipientCheck;
      const now = Date.now();
      return data.entries.map((e) => ({ address: e.address, answer: e.answer, at: new Date(e.at).toISOString(), host: e.host, reply: e.reply, fresh: isFresh(e, life, now) }));
    },
    async clearRecipientCache(address?: string) {
      if (address !== undefined && address !== null && typeof address !== 'string') throw badRequest('address must be a string');
      return clearRecipientCacheFile(workdir, address ?? undefined);
    },

    tlsInfo,
    async version() {
      return {
        version: await readVersion(),
        node: process.versions.node,
        ...(opts.electronVersion ? { electron: opts.electronVersion } : process.versions.electron ? { electron: process.versions.electron } : {}),
        workdir: workPaths(workdir).root,
      };
    },

    async shutdown() {
      if (!opts.requestShutdown) throw conflict('this process cannot be shut down through the control API');
      // After this call's answer is on its way: the stop closes the HTTP server in the end.
      const request = opts.requestShutdown;
      setImmediate(request);
    },
  };
  return api;
}
