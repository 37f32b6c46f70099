// effect.dat (SPEC 6): `PATTERN [ACTION]`, separated by spaces or tabs; first match decides.
import { isIP } from 'node:net';
import type { EffectAction, EffectPattern, EffectRule } from '../types.js';
import { checkDomain, checkMailbox, error, tokens } from './common.js';
import { failed, type LineResult } from './line.js';
import type { Diagnostic } from '../types.js';

const FILE = 'effect.dat';

export const EFFECT_ACTIONS: readonly EffectAction[] = ['true', 'default', 'false', 'only', 'norelay', 'norelay,2', 'norelay,0'];

export function parseEffectLine(raw: string, line: number): LineResult<EffectRule> {
  const toks = tokens(raw);
  const [pat, ...rest] = toks;
  const p = parseEffectPattern(pat.text);
  // Every error of the line: the pattern's and the action's.
  const errors: Diagnostic[] = [];
  if ('why' in p) errors.push(error(FILE, line, pat.col, 'effect.bad-pattern', p.why));

  if (rest.length === 0) {
    if ('why' in p) return failed(errors);
    return { rule: { pattern: p.pattern, patternText: pat.text, action: 'true', implicitAction: true, ref: { file: FILE, line } } };
  }
  // `norelay, 2` and `norelay ,2` are the same action as `norelay,2`: join around the comma.
  const from = rest[0].col - 1;
  const m = /^([^ \t\u3000,]*)(?:[ \t\u3000]*,[ \t\u3000]*([^ \t\u3000,]*))?/.exec(raw.slice(from))!;
  const actionText = m[2] === undefined ? m[1] : `${m[1]},${m[2]}`;
  const tail = raw.slice(from + m[0].length);
  const lead = /^[ \t\u3000]*/.exec(tail)![0].length;
  const action = parseEffectAction(actionText);
  if (!action) {
    const hint = actionText.toLowerCase() === 'none' ? ' (a line without an action means true: trusted)' : '';
    errors.push(
      error(
        FILE,
        line,
        rest[0].col,
        'effect.bad-action',
        `"${actionText}" is not an action; use true, default, false, only, norelay, norelay,2 or norelay,0${hint}`,
      ),
    );
  }
  if (lead < tail.length) {
    errors.push(
      error(
        FILE,
        line,
        from + m[0].length + lead + 1,
        'effect.extra-field',
        `unexpected text after the action "${actionText}": a line is "PATTERN [ACTION]" (comments go on their own line, starting with ')`,
      ),
    );
  }
  if (errors.length || 'why' in p || !action) return failed(errors);
  return { rule: { pattern: p.pattern, patternText: pat.text, action, implicitAction: false, ref: { file: FILE, line } } };
}

export function parseEffectAction(text: string): EffectAction | null {
  const t = text.toLowerCase();
  return (EFFECT_ACTIONS as readonly string[]).includes(t) ? (t as EffectAction) : null;
}

export function parseEffectPattern(text: string): { pattern: EffectPattern } | { why: string } {
  const t = text.toLowerCase();
  if (t.startsWith('#')) {
    if (t === '#<>' || t === '#<') return { pattern: { kind: 'null-sender' } };
    if (t === '#blank') return { pattern: { kind: 'blank-sender' } };
    return { why: `"${text}" is not a pattern: the special patterns are #<> (also #<) and #blank` };
  }
  if (t.includes('@')) {
    const m = checkMailbox(t, 1);
    if ('why' in m) return { why: `sender pattern: ${m.why}` };
    return { pattern: { kind: 'sender', local: m.local, domain: m.domain } };
  }
  if (t.includes('%')) {
    // `fe80::1%eth0`: a zone index names an interface of one machine, not a client address.
    return { why: `"${text}": a zone index (%...) is not allowed in an address pattern` };
  }
  if (t.includes('/')) {
    const [addr, prefixText, more] = t.split('/');
    const family = isIP(addr);
    if (!family || more !== undefined) return { why: `"${text}" is not a CIDR block (address/prefix, e.g. 192.168.1.0/28)` };
    const max = family === 4 ? 32 : 128;
    if (!/^\d{1,3}$/.test(prefixText) || +prefixText > max) {
      return { why: `"${text}": the prefix length must be 0-${max}` };
    }
    return { pattern: { kind: 'cidr', family: family as 4 | 6, address: addr, prefix: +prefixText } };
  }
  const family = isIP(t);
  if (family) return { pattern: { kind: 'cidr', family: family as 4 | 6, address: t, prefix: family === 4 ? 32 : 128 } };
  if (t.includes('*') && /^[\d*.]+$/.test(t)) {
    const parts = t.split('.');
    if (parts.length !== 4) return { why: `"${text}": an IPv4 pattern has four octets, each a number or * (192.168.*.*)` };
    const octets: Array<number | '*'> = [];
    for (const o of parts) {
      if (o === '*') octets.push('*');
      else if (/^\d{1,3}$/.test(o) && +o <= 255) octets.push(+o);
      else return { why: `"${text}": "${o}" is not an octet (0-255 or *)` };
    }
    return { pattern: { kind: 'ipv4-wildcard', octets } };
  }
  if (/^[\d.]+$/.test(t)) return { why: `"${text}" is not a valid IPv4 address` };
  if (t.includes(':')) return { why: `"${text}" is not a valid IPv6 address` };
  if (t.startsWith('*.')) {
    return { why: `"${text}": write the domain without "*." — a domain pattern already matches its subdomains` };
  }
  const d = checkDomain(t);
  if ('why' in d) return { why: d.why };
  return { pattern: { kind: 'domain', domain: d.domain } };
}
