// A ConfigSnapshot good enough to compute warnings for the editors even while some file has
// an error: loadConfig() refuses a snapshot then (nothing broken may be applied), but the
// admin editing effect.dat still wants its dead-rule warnings while aliases.dat is broken.
// Lines with errors are left out; a broken settings.json counts as the defaults.
import { readConfigFiles } from '../config/load.js';
import { parseAccountFiles } from '../config/accounts.js';
import { decodeSettings } from '../config/settings-file.js';
import { defaultSettings } from '../config/settings.js';
import { decodeTable, tableRules, type RuleOf } from '../config/tables.js';
import { workPaths } from '../config/paths.js';
import type { ConfigSnapshot, TableName } from '../config/types.js';

export type RuleOverrides = { [N in TableName]?: RuleOf<N>[] };

export async function workingSnapshot(workdir: string, overrides: RuleOverrides = {}): Promise<ConfigSnapshot> {
  const files = await readConfigFiles(workdir);
  const rules = <N extends TableName>(name: N): RuleOf<N>[] =>
    (overrides[name] as RuleOf<N>[] | undefined) ?? tableRules(decodeTable(name, files.tables[name]));
  return {
    workdir: workPaths(workdir).root,
    settings: decodeSettings(files.settings).settings ?? defaultSettings(),
    gateway: rules('gateway'),
    effect: rules('effect'),
    aliases: rules('aliases'),
    domains: rules('domains'),
    accounts: parseAccountFiles(files.accounts).accounts,
    generation: 0,
    loadedAt: new Date(),
  };
}
