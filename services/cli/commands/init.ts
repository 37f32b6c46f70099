// `sekisho init --workdir DIR [--lang ja|en] [--port N]... [--control-port N] [--hostname H]
// [--postmaster A]`: create a work folder with commented defaults (SPEC 9), the table files'
// comments in Japanese or English (default: the system's language). Existing files are left alone.
import { join } from 'node:path';
import { list, opt, requireOpt, UsageError, type ParsedArgs } from '../args.js';
import { initWorkdir, type InitOverrides } from '../../config/init.js';

function portNumber(text: string, name: string): number {
  if (!/^\d+$/.test(text) || +text < 1 || +text > 65535) throw new UsageError(`--${name}: "${text}" is not a port number (1-65535)`);
  return +text;
}

export async function run(args: ParsedArgs): Promise<number> {
  const workdir = requireOpt(args, 'workdir');
  const overrides: InitOverrides = {};
  const lang = opt(args, 'lang');
  if (lang !== undefined) {
    if (lang !== 'ja' && lang !== 'en') throw new UsageError(`--lang: "${lang}" is not ja or en`);
    overrides.lang = lang;
  }
  // `--port 25 --port 20025`, `--port 25 20025` and `--port 25,20025` all mean two listeners.
  const ports = list(args, 'port').flatMap((v) => v.split(',')).filter((v) => v !== '');
  if (args.options.has('port')) {
    if (!ports.length) throw new UsageError('--port needs a number');
    overrides.ports = ports.map((p) => portNumber(p, 'port'));
  }
  const control = opt(args, 'control-port');
  if (control !== undefined) overrides.controlPort = portNumber(control, 'control-port');
  const hostname = opt(args, 'hostname');
  if (hostname !== undefined) {
    if (!hostname) throw new UsageError('--hostname needs a name');
    overrides.hostname = hostname;
  }
  const postmaster = opt(args, 'postmaster');
  if (postmaster !== undefined) {
    if (!postmaster.includes('@')) throw new UsageError('--postmaster needs an address');
    overrides.postmaster = postmaster;
  }

  const r = await initWorkdir(workdir, overrides);
  for (const c of r.created) process.stdout.write(`created ${join(r.root, c)}\n`);
  for (const k of r.kept) process.stdout.write(`kept    ${join(r.root, k)} (already there, not changed)\n`);
  process.stdout.write(
    r.created.length
      ? `work folder ready: ${r.root}\nnext: edit domains.dat, aliases.dat and gateway.dat, then run: sekisho check --workdir ${r.root}\n`
      : `nothing to create: ${r.root} is already a complete work folder\n`,
  );
  return 0;
}
