// `sekisho explain --workdir DIR --client IP [--helo H] [--auth USER] --from ADDR --to ADDR...`
// (SPEC 9): print the decision for each step and recipient with the file:line that made it.
// Exit 0 when it answered (a refusal is an answer), 1 when the configuration has errors,
// 2 on a usage error. Extra options: --client-name NAME (the client's forward-confirmed DNS
// name, for domain patterns; no DNS is done), --at TIME (decide as at that local time, for
// usetime.dat), --verbose (every look-up under each line).
import { resolve } from 'node:path';
import { flag, list, opt, requireOpt, UsageError, type ParsedArgs } from '../args.js';
import { loadConfig } from '../../config/load.js';
import { formatDiagnostic } from '../../config/types.js';
import { explain } from '../../policy/explain.js';
import { isIpAddress } from '../../policy/effect.js';
import { readRecipientCache } from '../../config/recipient-cache.js';

export async function run(args: ParsedArgs): Promise<number> {
  const workdir = resolve(requireOpt(args, 'workdir'));
  const client = requireOpt(args, 'client');
  if (!isIpAddress(client)) throw new UsageError(`--client ${client}: not an IP address`);
  // `--from ''` is the null sender, so the option must be present but may be empty.
  if (!args.options.has('from')) throw new UsageError("missing --from (--from '' or --from '<>' for the null sender)");
  const from = opt(args, 'from') ?? '';
  const to = list(args, 'to').filter((t) => t.trim() !== '');
  if (!to.length) throw new UsageError('missing --to ADDR...');
  if (args.positional.length) throw new UsageError(`unexpected argument ${args.positional[0]}`);
  let now: Date | undefined;
  const at = opt(args, 'at');
  if (at !== undefined) {
    now = new Date(at);
    if (Number.isNaN(now.getTime())) throw new UsageError(`--at ${at}: not a date and time (e.g. 2026-11-23T22:30)`);
  }

  const { snapshot, diagnostics } = await loadConfig(workdir);
  if (!snapshot) {
    process.stderr.write(`the configuration in ${workdir} has errors; nothing can be explained until they are fixed:\n`);
    for (const d of diagnostics.filter((x) => x.severity === 'error')) process.stderr.write(`${formatDiagnostic(d)}\n`);
    return 1;
  }
  // Recipient verification: the answers the receiver has cached (verify-cache.json). explain
  // does not ask the internal server itself: it must stay a dry run with no side effects.
  const cache = await readRecipientCache(workdir);
  const cached = new Map(cache.entries.map((e) => [e.address, e]));
  const result = explain(
    snapshot,
    { client, helo: opt(args, 'helo'), auth: opt(args, 'auth'), from, to },
    { now, clientHostname: opt(args, 'client-name'), verbose: flag(args, 'verbose'), recipientCheck: (a) => cached.get(a) },
  );
  process.stdout.write(result.text.map((l) => `${l}\n`).join(''));
  return 0;
}
