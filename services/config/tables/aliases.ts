// aliases.dat (SPEC 5): `alias -> target[, target...]`; `*` as both local parts passes the
// original local part through.
import type { AliasRule, Diagnostic, MailboxPattern } from '../types.js';
import { checkMailbox, error, fields, hasSpace } from './common.js';
import { failed, type LineResult } from './line.js';

const FILE = 'aliases.dat';

export function parseAliasLine(raw: string, line: number): LineResult<AliasRule> {
  const arrow = raw.indexOf('->');
  if (arrow < 0) {
    return failed([error(FILE, line, raw.search(/[^ \t\u3000]/) + 1, 'alias.missing-arrow', 'an alias line is "alias -> address[, address...]" and this one has no "->"')]);
  }
  const second = raw.indexOf('->', arrow + 2);
  if (second >= 0) {
    return failed([error(FILE, line, second + 1, 'alias.extra-arrow', 'a line has one "->"; list several targets separated by commas')]);
  }
  // Every error of the line: the alias and each target are checked independently.
  const errors: Diagnostic[] = [];
  const [left, more] = fields(raw.slice(0, arrow), ',');
  if (more) errors.push(error(FILE, line, more.col, 'alias.bad-address', 'one alias address before "->"; write one line per alias'));
  const a = mailbox(left.text, left.col, line, 'alias');
  if ('error' in a) errors.push(a.error);

  const targets: MailboxPattern[] = [];
  const right = raw.slice(arrow + 2);
  if (right.trim() === '') {
    errors.push(error(FILE, line, arrow + 3, 'alias.missing-target', 'no address after "->"'));
    return failed(errors);
  }
  for (const f of fields(right, ',', arrow + 3)) {
    if (f.text === '') {
      errors.push(error(FILE, line, f.col, 'alias.bad-address', 'empty address in the target list (two commas in a row?)'));
      continue;
    }
    const t = mailbox(f.text, f.col, line, 'target');
    if ('error' in t) {
      errors.push(t.error);
      continue;
    }
    // `*@a -> x@b` would send a whole domain to one box and `x@a -> *@b` has no local part to
    // pass through: both are almost always a typo for the pass-through form.
    if ('mailbox' in a && (a.mailbox.local === '*') !== (t.mailbox.local === '*')) {
      errors.push(
        error(
          FILE,
          line,
          f.col,
          'alias.wildcard-mismatch',
          a.mailbox.local === '*'
            ? `a wildcard alias (*@${a.mailbox.domain}) needs wildcard targets (*@domain): the original local part is passed through`
            : `the target *@${t.mailbox.domain} needs a wildcard alias on the left (*@domain)`,
        ),
      );
      continue;
    }
    targets.push(t.mailbox);
  }
  if (errors.length || 'error' in a) return failed(errors);
  return { rule: { alias: a.mailbox, targets, ref: { file: FILE, line } } };
}

function mailbox(
  text: string,
  col: number,
  line: number,
  what: 'alias' | 'target',
): { mailbox: MailboxPattern } | { error: ReturnType<typeof error> } {
  if (text === '') return { error: error(FILE, line, col, 'alias.bad-address', `the ${what} address is empty`) };
  const sp = hasSpace(text);
  if (sp >= 0) {
    return { error: error(FILE, line, col + sp, 'alias.bad-address', `"${text}" contains a space: separate target addresses with commas`) };
  }
  const unbracketed = /^<.*>$/.test(text) ? text.slice(1, -1) : text;
  const m = checkMailbox(unbracketed, unbracketed === text ? col : col + 1);
  if ('why' in m) return { error: error(FILE, line, m.col, 'alias.bad-address', m.why) };
  return { mailbox: { local: m.local, domain: m.domain } };
}
