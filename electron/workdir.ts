// Which work folder the desktop app manages (SPEC 2): `--workdir DIR` when given, else
// C:\mail on Windows (where the old gateways kept it, and where admins look for it) and
// ~/.sekisho elsewhere.
import { join, resolve, win32 } from 'node:path';

export function defaultWorkdir(platform: NodeJS.Platform, homedir: string): string {
  return platform === 'win32' ? win32.join('C:\\', 'mail') : join(homedir, '.sekisho');
}

/** `--workdir DIR` or `--workdir=DIR`; the last one wins, as with `sekisho`. */
export function workdirFromArgv(argv: readonly string[]): string | null {
  let found: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--workdir' && i + 1 < argv.length && !argv[i + 1].startsWith('--')) found = argv[++i];
    else if (a.startsWith('--workdir=') && a.length > '--workdir='.length) found = a.slice('--workdir='.length);
  }
  return found;
}

export function chooseWorkdir(opts: { argv: readonly string[]; platform: NodeJS.Platform; homedir: string; cwd: string }): string {
  const given = workdirFromArgv(opts.argv);
  if (given) return opts.platform === 'win32' ? win32.resolve(opts.cwd, given) : resolve(opts.cwd, given);
  return defaultWorkdir(opts.platform, opts.homedir);
}
