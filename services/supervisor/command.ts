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

/** services/cli/, seen from services/supervisor/ (the same layout in source and in dist/). */
const cliDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'cli');

export function cliCommand(cliArgs: string[], env: NodeJS.ProcessEnv = process.env): CliCommand {
  const fromSource = import.meta.url.endsWith('.ts');
  const childEnv: NodeJS.ProcessEnv = { ...env };
  if (process.versions.electron) childEnv.ELECTRON_RUN_AS_NODE = '1';
  if (fromSource) {
    const tsxLoader = import.meta.resolve('tsx');
    return {
      command: process.execPath,
      args: ['--import', tsxLoader, join(cliDir, 'main.ts'), ...cliArgs],
      env: childEnv,
    };
  }
  const main = join(cliDir, 'main.js');
  if (!existsSync(main)) throw new Error(`cannot find the sekisho entry point at ${main}`);
  return { command: process.execPath, args: [main, ...cliArgs], env: childEnv };
}
