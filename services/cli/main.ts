// The `sekisho` command: parse arguments, hand over to one command module. Nothing else.
import { parseArgs, UsageError, type ParsedArgs } from './args.js';

type Command = (args: ParsedArgs) => Promise<number>;

const commands: Record<string, () => Promise<{ run: Command }>> = {
  init: () => import('./commands/init.js'),
  check: () => import('./commands/check.js'),
  explain: () => import('./commands/explain.js'),
  receiver: () => import('./commands/receiver.js'),
  delivery: () => import('./commands/delivery.js'),
  serve: () => import('./commands/serve.js'),
  stop: () => import('./commands/stop.js'),
  queue: () => import('./commands/queue.js'),
};

const USAGE = `usage:
  sekisho serve    --workdir DIR [--init]   receiver + delivery + control API, headless
                   [--require-auth]         every control API call needs control.secret or the password
  sekisho stop     --workdir DIR [--timeout SEC]  stop that serve gracefully (exit 0; 1 none/failed; 3 killed)
  sekisho receiver --workdir DIR [--debug]
  sekisho delivery --workdir DIR [--debug]
  sekisho check    --workdir DIR            validate every file; exit 1 with file:line errors
  sekisho queue list --workdir DIR [--json]  the queued messages, one a line
  sekisho queue show ID --workdir DIR [--raw]  a queued message: envelope, state, then its text
  sekisho explain  --workdir DIR --client IP [--helo H] [--auth USER] --from ADDR --to ADDR...
  sekisho init     --workdir DIR [--lang ja|en]  create a work folder with commented defaults
                                            (comments in the system's language by default)
`;

async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  const load = commands[args.command];
  if (!load) {
    process.stdout.write(USAGE);
    return args.command === 'help' || args.command === '--help' ? 0 : 2;
  }
  try {
    const { run } = await load();
    return await run(args);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`sekisho ${args.command}: ${err.message}\n${USAGE}`);
      return 2;
    }
    process.stderr.write(`sekisho ${args.command}: ${(err as Error).stack ?? err}\n`);
    return 1;
  }
}

const code = await main(process.argv.slice(2));
// Long-running commands (serve, receiver, delivery) resolve only when they stop.
process.exitCode = code;
