// gateway.dat (SPEC 4): `domain, host[, port]`, one next hop a line, tried in file order.
import { isIP } from 'node:net';
import type { Diagnostic, GatewayRule } from '../types.js';
import { checkDomain, error, fields, hasSpace, type Token } from './common.js';
import { failed, type LineResult } from './line.js';

const FILE = 'gateway.dat';

export function parseGatewayLine(raw: string, line: number): LineResult<GatewayRule> {
  const f = fields(raw, ',');
  const [dom, host, port] = f;
  if (f.length === 1 || (f.length === 2 && host.text === '' && hasSpace(dom.text) >= 0)) {
    const sp = hasSpace(dom.text);
    if (sp >= 0) {
      return failed([error(FILE, line, dom.col + sp, 'gateway.missing-comma', 'fields are separated by commas: write "domain, host[, port]"')]);
    }
    return failed([error(FILE, line, raw.length + 1, 'gateway.missing-host', 'the next hop is missing: write "domain, host[, port]"')]);
  }
  // Every error of the line: domain, host, port and extra fields are checked independently.
  const errors: Diagnostic[] = [];
  if (f.length > 3) {
    errors.push(error(FILE, line, f[3].col, 'gateway.extra-field', 'too many fields: a line is "domain, host[, port]"'));
  }
  const d = checkDomain(dom.text, { wildcard: true });
  if ('why' in d) errors.push(error(FILE, line, dom.col, 'gateway.bad-domain', d.why));
  const h = checkHost(host);
  if ('why' in h) errors.push(error(FILE, line, host.col, 'gateway.bad-host', h.why));
  let portNumber = 25;
  if (port) {
    if (port.text === '') {
      errors.push(error(FILE, line, port.col, 'gateway.bad-port', 'the port after the last comma is empty: write a port number or drop the comma'));
    } else if (!/^\d{1,5}$/.test(port.text) || +port.text < 1 || +port.text > 65535) {
      errors.push(error(FILE, line, port.col, 'gateway.bad-port', `"${port.text}" is not a port number (1-65535)`));
    } else {
      portNumber = +port.text;
    }
  }
  if (errors.length || 'why' in d || 'why' in h) return failed(errors);
  return { rule: { domain: d.domain, host: h.host, port: portNumber, ref: { file: FILE, line } } };
}

/** An FQDN, or an IP literal (IPv6 with or without brackets). */
function checkHost(t: Token): { host: string } | { why: string } {
  if (t.text === '') return { why: 'the next hop host is empty' };
  const sp = hasSpace(t.text);
  if (sp >= 0) return { why: `"${t.text}" contains a space: a host is one name or address` };
  const unbracketed = /^\[.*\]$/.test(t.text) ? t.text.slice(1, -1) : t.text;
  if (isIP(unbracketed)) return { host: unbracketed.toLowerCase() };
  if (/^[\d.]+$/.test(unbracketed)) return { why: `"${t.text}" is not a valid IPv4 address` };
  if (unbracketed.includes(':')) {
    return { why: `"${t.text}" is not a valid host: the port goes in its own field after a comma` };
  }
  // A short name (`mailsv`) is allowed: offices resolve their LAN server through the hosts file.
  const d = checkDomain(unbracketed, { singleLabel: true });
  if ('why' in d) return { why: d.why };
  return { host: d.domain };
}
