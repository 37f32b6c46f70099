// A tiny argument parser for `sekisho` (SPEC 9): `--name value`, `--flag`, repeated options
// collect into arrays, and `--to a b c` takes every value up to the next option.

export interface ParsedArgs {
  command: string;
  /** Every option's values, in order. A bare flag has the value 'true'. */
  options: Map<string, string[]>;
  positional: string[];
}

export function parseArgs(argv: string[]): ParsedArgs {
  const [command = 'help', ...rest] = argv;
  const options = new Map<string, string[]>();
  const positional: string[] = [];
  let current: string | null = null;
  for (const arg of rest) {
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
      if (!options.has(name)) options.set(name, []);
      if (eq > 0) {
        options.get(name)!.push(arg.slice(eq + 1));
        current = null;
      } else {
        current = name;
      }
    } else if (current) {
      options.get(current)!.push(arg);
    } else {
      positional.push(arg);
    }
  }
  return { command, options, positional };
}

/** The last value of an option, or the fallback. A bare flag reads as ''. */
export function opt(args: ParsedArgs, name: string, fallback?: string): string | undefined {
  const v = args.options.get(name);
  if (!v) return fallback;
  return v.length ? v[v.length - 1] : '';
}

export function flag(args: ParsedArgs, name: string): boolean {
  return args.options.has(name);
}

export function list(args: ParsedArgs, name: string): string[] {
  return args.options.get(name) ?? [];
}

export class UsageError extends Error {}

export function requireOpt(args: ParsedArgs, name: string): string {
  const v = opt(args, name);
  if (!v) throw new UsageError(`missing --${name}`);
  return v;
}
