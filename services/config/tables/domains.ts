// domains.dat: the local domains, one a line.
import type { Diagnostic, LocalDomain } from '../types.js';
import { checkDomain, error, tokens } from './common.js';
import { failed, type LineResult } from './line.js';

const FILE = 'domains.dat';

export function parseDomainLine(raw: string, line: number): LineResult<LocalDomain> {
  const [tok, extra] = tokens(raw);
  const errors: Diagnostic[] = [];
  const d = checkDomain(tok.text);
  if ('why' in d) errors.push(error(FILE, line, tok.col, 'domains.bad-domain', d.why));
  if (extra) errors.push(error(FILE, line, extra.col, 'domains.extra-field', 'one domain a line'));
  if (errors.length || 'why' in d) return failed(errors);
  return { rule: { domain: d.domain, ref: { file: FILE, line } } };
}
