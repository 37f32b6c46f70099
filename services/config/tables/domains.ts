// domains.dat: the local domains, one a line.
import type { LocalDomain } from '../types.js';
import { checkDomain, error, tokens } from './common.js';
import type { LineResult } from './line.js';

const FILE = 'domains.dat';

export function parseDomainLine(raw: string, line: number): LineResult<LocalDomain> {
  const [tok, extra] = tokens(raw);
  if (extra) return { error: error(FILE, line, extra.col, 'domains.extra-field', 'one domain a line') };
  const d = checkDomain(tok.text);
  if ('why' in d) return { error: error(FILE, line, tok.col, 'domains.bad-domain', d.why) };
  return { rule: { domain: d.domain, ref: { file: FILE, line } } };
}
