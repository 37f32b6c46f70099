// settings.json: every scalar setting of the gateway (SPEC 2). The schema is the contract:
// unknown keys and wrong types are errors naming the key path, never silently ignored.
import { z } from 'zod';

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

export const settingsSchema = z
  .object({
    hostname: z.string().min(1).default('gw.test.jp'),
    receiver: receiverSchema.default(() => receiverSchema.parse({})),
    auth: authSchema.default(() => authSchema.parse({})),
    tls: tlsSchema.default(() => tlsSchema.parse({})),
    delivery: deliverySchema.default(() => deliverySchema.parse({})),
    logs: logsSchema.default(() => logsSchema.parse({})),
    control: controlSchema.default(() => controlSchema.parse({})),
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
