// settings.json: every scalar setting of the gateway (SPEC 2). The schema is the contract:
// unknown keys and wrong types are errors naming the key path, never silently ignored.
import { z } from 'zod';
import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { isAbsolute, join } from 'node:path';
import type { Diagnostic } from './types.js';
import { locateJsonPaths } from './json-locate.js';

const port = z.number().int().min(1).max(65535);
const nonNegInt = z.number().int().min(0);

export const receiverSchema = z
  .object({
    bind: z.string().default('0.0.0.0'),
    ports: z.array(port).default([25]),
    implicitTlsPorts: z.array(port).default([]),
    maxMessageBytes: nonNegInt.default(0),
    maxRecipients: nonNegInt.default(0),
    maxConnections: nonNegInt.default(0),
    maxReceivedHeaders: nonNegInt.default(20),
    idleTimeoutSec: nonNegInt.default(300),
    greetPauseMs: nonNegInt.default(0),
    vrfyExpn: z.boolean().default(false),
    requireTlsForAuth: z.boolean().default(true),
    /** DNSBL zones checked at connect (SPEC 11 "Relay rules ... DNSBL"); empty = none. */
    dnsbl: z.array(z.string()).default([]),
    /**
     * SMTP receiver processes sharing the listening ports (docs/receiver.md "Processes").
     * One process uses one CPU core; a busy MX on a multi-core server wants one per core.
     */
    processes: z.number().int().min(1).max(16).default(1),
  })
  .strict();

export const authSchema = z
  .object({
    methods: z.array(z.enum(['PLAIN', 'LOGIN', 'CRAM-MD5'])).default(['PLAIN', 'LOGIN', 'CRAM-MD5']),
    enabled: z.boolean().default(true),
    accountSendersNeedAuth: z.boolean().default(true),
  })
  .strict();

export const tlsSchema = z
  .object({
    cert: z.string().default(''),
    key: z.string().default(''),
  })
  .strict();

/**
 * Which next hops a TLS rule applies to (delivery.tlsVerify / delivery.tlsRequire): none, only
 * the configured smarthost, or every next hop (gateway.dat, smarthost, MX).
 */
export const tlsHopsSchema = z.enum(['none', 'smarthost', 'all']);
export type TlsHops = z.infer<typeof tlsHopsSchema>;

export const deliverySchema = z
  .object({
    workers: z.number().int().min(1).max(1000).default(20),
    /** `host` or `host:port`; empty = route by gateway.dat then DNS MX. */
    smarthost: z.string().default(''),
    smarthostUser: z.string().default(''),
    smarthostPassword: z.string().default(''),
    forwardAll: z.boolean().default(true),
    dnsServers: z.array(z.string()).default([]),
    outboundPort: port.default(25),
    retryIntervalSec: nonNegInt.default(120),
    refusalRetries: nonNegInt.default(1),
    abnormalHours: z.number().min(0).default(8),
    noResponseHours: z.number().min(0).default(24),
    postmaster: z.string().default('postmaster@test.jp'),
    bounceFormat: z.enum(['rfc3464', 'classic']).default('rfc3464'),
    /** Seconds to wait for a connection / a reply from a next hop. */
    connectTimeoutSec: z.number().min(1).default(30),
    replyTimeoutSec: z.number().min(1).default(300),
    /** Verify the next hop's certificate after STARTTLS (chain and host name). Default none:
     * opportunistic TLS as SPEC 8 and Postfix `smtp_tls_security_level = may`. */
    tlsVerify: tlsHopsSchema.default('none'),
    /** Never deliver in plaintext: a hop without STARTTLS is a temporary failure (RFC 3207 4). */
    tlsRequire: tlsHopsSchema.default('none'),
    /** PEM bundle of extra trusted CAs for tlsVerify; relative to the work folder. */
    tlsCaFile: z.string().default(''),
    /**
     * Keep a delivered message's files in incoming/spare/ for the next messages to overwrite
     * (queue/spare.ts: far cheaper than deleting and creating files). false: delete them at once
     * (no delivered text stays on disk, at some speed).
     */
    recycleQueueFiles: z.boolean().default(true),
  })
  .strict();

export const logsSchema = z
  .object({
    retentionDays: nonNegInt.default(90),
  })
  .strict();

export const controlSchema = z
  .object({
    bind: z.string().default('127.0.0.1'),
    port: port.default(8025),
    password: z.string().default(''),
  })
  .strict();

/**
 * Recipient verification at RCPT time (SPEC 5, issue 15): ask the domain's gateway.dat next hop
 * `MAIL FROM:<>` / `RCPT TO:<target>` and refuse an address the internal server does not know.
 */
export const recipientCheckSchema = z
  .object({
    /** Domains whose recipients are verified (lower-case, exact; `*.x.jp` for subdomains). */
    domains: z.array(z.string()).default([]),
    /** Verify every domain gateway.dat routes, in addition to `domains`. */
    allRoutedDomains: z.boolean().default(false),
    /** How long "exists" (2xx) is remembered. Postfix keeps it for days too (address_verify_positive_expire_time). */
    existsCacheSec: nonNegInt.default(86_400),
    /** How long "does not exist" (5xx) is remembered: short, so a new account works soon. */
    unknownCacheSec: nonNegInt.default(3_600),
    /** Seconds for one check: connect, greeting and the three commands together. */
    timeoutSec: z.number().min(1).max(300).default(10),
    /** Checks running at once (open connections to the internal servers), per receiver process. */
    maxConcurrent: z.number().int().min(1).max(100).default(5),
    /** An idle connection to an internal server is closed after this many seconds. */
    idleSec: z.number().int().min(1).max(300).default(30),
    /** The internal server cannot be asked (down, 4xx): `tempfail` answers `450 4.1.1`, `accept` lets the recipient in. */
    whenUnavailable: z.enum(['tempfail', 'accept']).default('tempfail'),
    /** Answers kept in memory and in verify-cache.json (the oldest go first). */
    maxCacheEntries: z.number().int().min(100).max(1_000_000).default(10_000),
  })
  .strict();

export const settingsSchema = z
  .object({
    hostname: z.string().min(1).default('gw.test.jp'),
    receiver: receiverSchema.default(() => receiverSchema.parse({})),
    auth: authSchema.default(() => authSchema.parse({})),
    tls: tlsSchema.default(() => tlsSchema.parse({})),
    delivery: deliverySchema.default(() => deliverySchema.parse({})),
    logs: logsSchema.default(() => logsSchema.parse({})),
    control: controlSchema.default(() => controlSchema.parse({})),
    recipientCheck: recipientCheckSchema.default(() => recipientCheckSchema.parse({})),
  })
  .strict();

export type Settings = z.infer<typeof settingsSchema>;

export interface SettingsIssue {
  /** Dotted key path, e.g. `receiver.ports.0`; empty for the whole document. */
  path: string;
  message: string;
}

export function defaultSettings(): Settings {
  return settingsSchema.parse({});
}

/** Validate a parsed JSON value. Missing keys take their defaults; unknown keys are errors. */
export function validateSettings(value: unknown):
  | { ok: true; settings: Settings }
  | { ok: false; issues: SettingsIssue[] } {
  const r = settingsSchema.safeParse(value);
  if (r.success) return { ok: true, settings: r.data };
  const issues: SettingsIssue[] = [];
  for (const i of r.error.issues) {
    const base = i.path.map(String).join('.');
    if (i.code === 'unrecognized_keys') {
      for (const k of i.keys) issues.push({ path: base ? `${base}.${k}` : k, message: `unknown key "${k}"` });
    } else {
      issues.push({ path: base, message: i.message });
    }
  }
  return { ok: false, issues };
}

/** Does a TLS rule (`none` / `smarthost` / `all`) apply to a hop of this kind? */
export function tlsRuleApplies(rule: TlsHops, smarthost: boolean): boolean {
  return rule === 'all' || (rule === 'smarthost' && smarthost);
}

/** A path of a setting as given, or relative to the work folder. */
export function workdirPath(workdir: string, path: string): string {
  return isAbsolute(path) ? path : join(workdir, path);
}

export type CaFileRead =
  | { ok: true; path: string; pem: string; certificates: number }
  | { ok: false; path: string; reason: string };

/**
 * Read delivery.tlsCaFile: a PEM bundle with at least one certificate that parses. Anything else
 * (missing, unreadable, not PEM, a broken certificate) is a reason naming the file.
 */
export function readCaFile(workdir: string, file: string): CaFileRead {
  const path = workdirPath(workdir, file);
  let text: string;
  try {
    text = readFileSync(path, 'latin1');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'it is a folder' : `${e.code ?? 'error'} ${e.message}`;
    return { ok: false, path, reason: `delivery.tlsCaFile ${path} cannot be read: ${why}` };
  }
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) return { ok: false, path, reason: `delivery.tlsCaFile ${path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)` };
  for (const [i, b] of blocks.entries()) {
    try {
      new X509Certificate(b);
    } catch (err) {
      return { ok: false, path, reason: `delivery.tlsCaFile ${path}: certificate ${i + 1} cannot be parsed: ${(err as Error).message}` };
    }
  }
  return { ok: true, path, pem: blocks.join('\n') + '\n', certificates: blocks.length };
}

/**
 * Problems of settings.json that need the disk (the schema cannot see files): a tlsCaFile that
 * cannot be used. A warning, not an error: the receiver and every delivery that does not
 * verify certificates go on; a delivery that does is deferred with the same reason in the
 * sender log until the file is fixed (services/delivery/tls-policy.ts).
 */
export function settingsFileDiagnostics(workdir: string, settings: Settings, raw = ''): Diagnostic[] {
  const d = settings.delivery;
  if (!d.tlsCaFile) return [];
  const r = readCaFile(workdir, d.tlsCaFile);
  if (r.ok) return [];
  const unused = d.tlsVerify === 'none' ? ' (not used while delivery.tlsVerify is none)' : '; deliveries that verify certificates are deferred until it is fixed';
  const at = raw ? locateJsonPaths(raw).get('delivery.tlsCaFile') : undefined;
  return [
    {
      file: 'settings.json',
      line: at?.line ?? 0,
      column: at?.column ?? 0,
      severity: 'warning',
      code: 'settings.tls-ca-file',
      message: `${r.reason}${unused}`,
    },
  ];
}
