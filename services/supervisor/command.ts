// How to start the `sekisho` command as a child process from this same installation:
// from source (a .ts file, tests and `npm start`) through tsx, from a build as plain JS,
// and inside Electron with ELECTRON_RUN_AS_NODE so the Electron binary acts as Node.
// It lives in supervisor/ (not cli/) because the supervisor starts the children and nothing
// may import cli/ (ARCHITECTURE); it only names cli/main's file, it does not import it.
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { existsSync } from 'node:fs';

export interface CliCommand {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

/**
 * V8 options for the two long-running services. A burst of traffic grows V8's young generation
 * to its default maximum (two 16 MiB semi-spaces) and it keeps that memory afterwards: measured
 * with the bench (issue 14), the whole gateway holding 1,000 idle sessions after the load
 * scenarios took 166 MB PSS, with 4 MiB semi-spaces 132 MB, at no CPU cost per message we could
 * tell apart from the noise (0.7-0.9 ms receiver, 0.3-0.6 ms delivery either way). Only a
 * command-line flag sets it: V8 sizes its heap when the process starts. A cluster worker
 * (receiver.processes > 1) inherits it through execArgv.
 */
const SERVICE_NODE_FLAGS: Record<string, string[]> = {
  receiver: ['--max-semi-space-size=4'],
  delivery: ['--max-semi-space-size=4'],
};

/** services/cli/, seen from services/supervisor/ (the same layout in source and in dist/). */
const cliDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'cli');

export function cliCommand(cliArgs: string[], env: NodeJS.ProcessEnv = process.env): CliCommand {
  const fromSource = import.meta.url.endsWith('.ts');
  const childEnv: NodeJS.ProcessEnv = { ...env };
  const nodeFlags = SERVICE_NODE_FLAGS[cliArgs[0] ?? ''] ?? [];
  if (process.versions.electron) childEnv.ELECTRON_RUN_AS_NODE = '1';
  if (fromSource) {
    const tsxLoader = import.meta.resolve('tsx');
    return {
      command: process.execPath,
      args: [...nodeFlags, '--import', tsxLoader, join(cliDir, 'main.ts'), ...cliArgs],
      env: childEnv,
    };
  }
  const main = join(cliDir, 'main.js');
  if (!existsSync(main)) throw new Error(`cannot find the sekisho entry point at ${main}`);
  return { command: process.execPath, args: [...nodeFlags, main, ...cliArgs], env: childEnv };
}
