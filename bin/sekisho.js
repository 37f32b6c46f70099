#!/usr/bin/env node
// The `sekisho` command. A built tree (dist/) runs as plain JavaScript; a source checkout
// runs the TypeScript through tsx, so `npm start` and the tests never need a build step.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const built = join(root, 'dist', 'services', 'cli', 'main.js');
if (existsSync(built) && !process.env.SEKISHO_FROM_SOURCE) {
  await import(pathToFileURL(built).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(join(root, 'services', 'cli', 'main.ts')).href);
}
