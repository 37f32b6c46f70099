// The spawn helper moved to services/supervisor/command.ts (nothing may import cli/); this
// re-export keeps the tests and bench scripts that start `sekisho` children working.
export { cliCommand, type CliCommand } from '../supervisor/command.js';
