// The Windows lane's cases (test/windows/*.wine.ts): they run on Linux and drive Windows'
// node.exe under Wine (lane.ts). Not part of `npm test`; `npm run test:windows` runs them.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/windows/**/*.wine.ts'],
    // Wine starts slowly (~15 s cold) and the machine is shared: one case at a time, bounded.
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default', 'json'],
    outputFile: { json: 'test-output/windows-cases.json' },
  },
});
