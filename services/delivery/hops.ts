// From a policy Route (SPEC 4) to the ordered list of addresses to try: gateway.dat hops in
// file order, the smarthost, or the MX hosts by preference (implicit MX when there is none).
// Host names are resolved here, so the loop check sees the real addresses.
import type { Route } from '../policy/types.js';
import type { HopTarget } from './smtp-client.js';
import type { AttemptOutcome } from './retry.js';
import { lookupHost, type MxResolver } from './dns.js';
import { isOwnEndpoint } from './loop.js';

export interface Candidate {
  target: HopTarget;
  /** For the debug trace: `gateway.dat:2 192.168.0.10:25`. */
  label: string;
}

export type HopPlan =
  | { kind: 'hops'; candidates: Candidate[]; notes: string[] }
  /** Nothing to try: the outcome applies to every recipient of the route. */
  | { kind: 'fail'; outcome: AttemptOutcome; notes: string[] };

export interface PlanContext {
  resolver: MxResolver;
  outboundPort: number;
  own: Set<string>;
  receiverPorts: number[];
}

function endpoint(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

export async function planRoute(route: Route, domain: string, ctx: PlanContext): Promise<HopPlan> {
  const notes: string[] = [];
  const named: Array<{ host: string; port: number; label: string; priority?: number }> = [];
  if (route.kind === 'gateway') {
    for (const h of route.hops) named.push({ host: h.host, port: h.port, label: `${h.rule.file}:${h.rule.line}` });
  } else if (route.kind === 'smarthost') {
    named.push({ host: route.host, port: route.port, label: 'smarthost' });
  } else if (route.kind === 'mx') {
    const answer = await ctx.resolver.mx(route.domain || domain);
    switch (answer.kind) {
      case 'temp':
        return { kind: 'fail', outcome: { kind: 'noanswer', reply: `451 4.4.3 ${answer.error}`, host: '' }, notes };
      case 'nxdomain':
        return { kind: 'fail', outcome: { kind: 'perm', reply: `550 5.1.2 ${answer.error}`, host: '' }, notes };
      case 'null-mx':
        // RFC 7505 3: the domain has declared that it accepts no mail.
        return { kind: 'fail', outcome: { kind: 'fatal', reply: `556 5.1.10 ${domain} accepts no mail (null MX)`, host: '' }, notes };
      case 'implicit':
        named.push({ host: route.domain || domain, port: ctx.outboundPort, label: 'implicit-mx', priority: 0 });
        break;
      case 'mx':
        for (const h of answer.hosts) named.push({ host: h.exchange, port: ctx.outboundPort, label: `mx ${h.priority}`, priority: h.priority });
        break;
    }
  } else {
    return { kind: 'fail', outcome: { kind: 'fatal', reply: '550 5.1.1 no local mailbox for this address', host: '' }, notes };
  }

  const candidates: Candidate[] = [];
  let loops = 0;
  let loopHost = '';
  let unresolved = '';
  // RFC 5321 5.1: when we find ourselves among the MX hosts, discard that host and every host
  // of equal or higher preference value.
  let mxCutoff = Infinity;
  for (const n of named) {
    if (n.priority !== undefined && n.priority >= mxCutoff) break;
    const addresses =
      route.kind === 'mx' && n.label !== 'implicit-mx' ? await ctx.resolver.addressesOfMx(n.host) : await lookupHost(n.host);
    if (addresses.length === 0) {
      unresolved = n.host;
      notes.push(`${n.label} ${n.host}: host not found`);
      continue;
    }
    for (const address of addresses) {
      if (isOwnEndpoint(address, n.port, ctx.own, ctx.receiverPorts)) {
        loops++;
        loopHost = n.host;
        notes.push(`${n.label} ${n.host} ${endpoint(address, n.port)} is this gateway: skipped (mail loop)`);
        if (n.priority !== undefined) mxCutoff = n.priority;
        continue;
      }
      candidates.push({ target: { address, port: n.port, hostname: n.host }, label: `${n.label} ${endpoint(address, n.port)}` });
    }
  }
  if (candidates.length === 0 && loops > 0) {
    return { kind: 'fail', outcome: { kind: 'fatal', reply: `554 5.4.6 mail loop: next hop ${loopHost} is this gateway`, host: '' }, notes };
  }
  if (candidates.length === 0) {
    return {
      kind: 'fail',
      outcome: { kind: 'noanswer', reply: `451 4.4.4 host not found: ${unresolved || domain}`, host: '' },
      notes,
    };
  }
  return { kind: 'hops', candidates, notes };
}
