// The TLS settings of delivery (delivery.tlsVerify, tlsRequire, tlsCaFile) as the client
// options of one route: whether the next hop's certificate is verified, whether TLS is
// required, and which CAs are trusted. Default (`none`): opportunistic STARTTLS without any
// check, as SPEC 8 says and as Postfix's `smtp_tls_security_level = may`.
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { createSecureContext, rootCertificates } from 'node:tls';
import type { ConfigSnapshot } from '../config/types.js';
import type { Route } from '../policy/types.js';
import { readCaFile, tlsRuleApplies, workdirPath } from '../config/settings.js';
import type { ClientOptions } from './smtp-client.js';

export type HopTlsOptions = Pick<ClientOptions, 'rejectUnauthorized' | 'requireTLS' | 'trustedCa' | 'tlsError'>;

type TrustedCa = NonNullable<ClientOptions['trustedCa']>;

/** Built contexts by `path|size|mtime`: Node's ~150 roots plus the bundle are parsed once per
 * version of the file, not per connection. A changed file is read again at the next attempt. */
const contexts = new Map<string, TrustedCa>();
const MAX_CONTEXTS = 8;

function trustedCa(workdir: string, file: string): { trustedCa: TrustedCa } | { tlsError: string } {
  const path = workdirPath(workdir, file);
  let stamp = '';
  try {
    const st = statSync(path);
    stamp = `${path}|${st.size}|${st.mtimeMs}`;
  } catch {
    /* readCaFile says why */
  }
  const hit = stamp ? contexts.get(stamp) : undefined;
  if (hit) return { trustedCa: hit };
  const r = readCaFile(workdir, file);
  if (!r.ok) return { tlsError: r.reason };
  // Added to the usual trusted roots, not instead of them (Node's `ca` option replaces them).
  const ca: TrustedCa = {
    id: createHash('sha256').update(r.pem).digest('hex').slice(0, 16),
    context: createSecureContext({ ca: [...rootCertificates, r.pem] }),
  };
  if (stamp) {
    if (contexts.size >= MAX_CONTEXTS) contexts.delete(contexts.keys().next().value!);
    contexts.set(stamp, ca);
  }
  return { trustedCa: ca };
}

/** The TLS client options for the hops of `route`. `smarthost` levels apply to the smarthost
 * route only (verified against its host name, which is sent as SNI); `all` to every next hop. */
export function hopTlsOptions(snap: ConfigSnapshot, route: Route): HopTlsOptions {
  const d = snap.settings.delivery;
  const smarthost = route.kind === 'smarthost';
  const out: HopTlsOptions = {};
  if (tlsRuleApplies(d.tlsVerify, smarthost)) {
    out.rejectUnauthorized = true;
    if (d.tlsCaFile) Object.assign(out, trustedCa(snap.workdir, d.tlsCaFile));
  }
  if (tlsRuleApplies(d.tlsRequire, smarthost)) out.requireTLS = true;
  return out;
}
