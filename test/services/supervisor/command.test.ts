// cliCommand: how a `sekisho` child of this installation is started. The two long-running
// services get a smaller V8 young generation (issue 14: memory after a burst); other commands
// are started as they are.
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { cliCommand } from '../../../services/supervisor/command.js';

describe('cliCommand', () => {
  it('starts receiver and delivery with --max-semi-space-size=4, before the script', () => {
    for (const svc of ['receiver', 'delivery']) {
      const c = cliCommand([svc, '--workdir', '/x']);
      const flag = c.args.indexOf('--max-semi-space-size=4');
      expect(flag).toBeGreaterThanOrEqual(0);
      expect(flag).toBeLessThan(c.args.findIndex((a) => /main\.(ts|js)$/.test(a)));
      expect(c.args.slice(-3)).toEqual([svc, '--workdir', '/x']);
    }
    for (const other of ['serve', 'explain', 'init']) expect(cliCommand([other]).args).not.toContain('--max-semi-space-size=4');
  });

  it('the flags are accepted by the runtime and size its young generation', async () => {
    const c = cliCommand(['delivery']);
    const flags = c.args.filter((a) => a.startsWith('--max-semi'));
    // A burst of short-lived objects grows the young generation to its maximum: 2 x 16 MiB by
    // default, 2 x 4 MiB with the flag.
    const burst = "let k = []; for (let i = 0; i < 3e6; i++) { k.push({ a: i, b: 'x' + i, c: [i, i] }); if (k.length > 5000) k = []; }";
    const report = "process.stdout.write(String(require('v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size))";
    const out = await new Promise<string>((resolve, reject) =>
      execFile(c.command, [...flags, '-e', `${burst}; ${report}`], { timeout: 30_000 }, (err, stdout) => (err ? reject(err) : resolve(stdout))),
    );
    expect(Number(out)).toBeGreaterThan(0);
    expect(Number(out)).toBeLessThanOrEqual(8 * 1024 * 1024);
  });
});
