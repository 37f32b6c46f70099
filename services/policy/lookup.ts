// Per-snapshot look-up tables. A snapshot is immutable, so the maps are built once per
// snapshot (on the first question after a reload) and dropped with it: a mode-B alias table
// of tens of thousands of lines must not cost a linear scan per RCPT.
import type { AliasRule, ConfigSnapshot, GatewayRule } from '../config/types.js';
import { normalizeDomain } from './address.js';

export interface SnapshotLookup {
  localDomains: Set<string>;
  /** `local@domain` (lower-case) -> the first exact alias line for it. */
  exactAliases: Map<string, AliasRule>;
  /** domain -> the first `*@domain` alias line. */
  wildcardAliases: Map<string, AliasRule>;
  /** domain -> its exact gateway.dat lines, file order. */
  gatewayExact: Map<string, GatewayRule[]>;
  /** suffix (without `*.`) -> its `*.` lines, file order. */
  gatewayWildcard: Map<string, GatewayRule[]>;
}

const cache = new WeakMap<ConfigSnapshot, SnapshotLookup>();

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

export function lookupOf(snap: ConfigSnapshot): SnapshotLookup {
  let l = cache.get(snap);
  if (l) return l;
  l = {
    localDomains: new Set(snap.domains.map((d) => normalizeDomain(d.domain)).filter((d) => d !== '')),
    exactAliases: new Map(),
    wildcardAliases: new Map(),
    gatewayExact: new Map(),
    gatewayWildcard: new Map(),
  };
  for (const a of snap.aliases) {
    const domain = normalizeDomain(a.alias.domain);
    if (a.alias.local === '*') {
      if (!l.wildcardAliases.has(domain)) l.wildcardAliases.set(domain, a);
    } else {
      const key = `${a.alias.local.toLowerCase()}@${domain}`;
      if (!l.exactAliases.has(key)) l.exactAliases.set(key, a);
    }
  }
  for (const g of snap.gateway) {
    if (g.domain.startsWith('*.')) push(l.gatewayWildcard, normalizeDomain(g.domain.slice(2)), g);
    else push(l.gatewayExact, normalizeDomain(g.domain), g);
  }
  cache.set(snap, l);
  return l;
}
