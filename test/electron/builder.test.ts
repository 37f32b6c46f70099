// Packaging: `npm run build`, then `electron-builder --dir --linux` offline against a stand-in
// Electron distribution (the real binary cannot be downloaded here), and a look inside the
// produced app.asar (its header read directly: JSON after two pickled sizes).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { chmod, mkdtemp, readFile, rm, writeFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, standInDist, buildEnv, electronBuilderOffline } from './helpers/builder.js';

let work: string;
let out: string;

interface AsarNode {
  files?: Record<string, AsarNode>;
  size?: number;
  unpacked?: boolean;
}

/** Every path in an asar archive (Chromium pickle: u32 4, u32 headerSize, then u32 payload, i32 len, JSON). */
async function asarPaths(file: string): Promise<Map<string, AsarNode>> {
  const buf = await readFile(file);
  const len = buf.readInt32LE(12);
  const header = JSON.parse(buf.toString('utf8', 16, 16 + len)) as AsarNode;
  const paths = new Map<string, AsarNode>();
  const walk = (node: AsarNode, prefix: string) => {
    for (const [name, child] of Object.entries(node.files ?? {})) {
      const p = prefix ? `${prefix}/${name}` : name;
      paths.set(p, child);
      walk(child, p);
    }
  };
  walk(header, '');
  return paths;
}

async function readFromAsar(file: string, path: string): Promise<string> {
  const buf = await readFile(file);
  const headerSize = buf.readUInt32LE(4);
  const len = buf.readInt32LE(12);
  const header = JSON.parse(buf.toString('utf8', 16, 16 + len)) as AsarNode;
  let node: AsarNode & { offset?: string } = header;
  for (const part of path.split('/')) node = node.files![part] as AsarNode & { offset?: string };
  const start = 8 + headerSize + Number(node.offset);
  return buf.toString('utf8', start, start + node.size!);
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'sekisho-builder-'));
  out = join(work, 'release');
  // A stand-in for the Linux Electron distribution: what electron-builder copies and renames.
  const dist = await standInDist(work, async (d) => {
    await writeFile(join(d, 'electron'), '#!/bin/sh\necho "stand-in electron"\n');
    await chmod(join(d, 'electron'), 0o755);
  });

  await run('npm', ['run', 'build'], buildEnv(), 300_000);
  // Offline: any download attempt goes to a closed port and fails the build.
  await electronBuilderOffline(work, ['--dir', '--linux', '--x64', `-c.electronDist=${dist}`, `-c.directories.output=${out}`]);
}, 600_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('electron-builder --dir', () => {
  it('produces the app with its launcher and an app.asar', async () => {
    const app = join(out, 'linux-unpacked');
    expect((await stat(join(app, 'sekisho'))).isFile()).toBe(true);
    expect((await stat(join(app, 'resources', 'app.asar'))).size).toBeGreaterThan(100_000);
  });

  it('app.asar holds the services, the Electron glue, the UI, the templates and the production dependencies', async () => {
    const asar = join(out, 'linux-unpacked', 'resources', 'app.asar');
    const paths = await asarPaths(asar);
    for (const p of [
      'dist/services/receiver',
      'dist/services/delivery',
      'dist/services/cli/main.js',
      'dist/electron/main.js',
      'dist/electron/preload.cjs',
      'dist/renderer/index.html',
      'resources/default-workdir/effect.dat',
      'resources/icons/icon.png',
      'package.json',
      'node_modules/smtp-server',
      'node_modules/nodemailer',
      'node_modules/iconv-lite',
    ]) {
      expect(paths.has(p), p).toBe(true);
    }
    // Nothing of the sources, tests or dev tooling.
    const unwanted = [...paths.keys()].filter(
      (p) => /^(test|renderer|services|electron|bench)\//.test(p) || p.endsWith('.map') || /^node_modules\/(vite|vitest|svelte|electron|electron-builder|playwright-core|typescript)$/.test(p),
    );
    expect(unwanted).toEqual([]);
    const pkg = JSON.parse(await readFromAsar(asar, 'package.json')) as { main: string };
    expect(pkg.main).toBe('dist/electron/main.js');
    const html = await readFromAsar(asar, 'dist/renderer/index.html');
    expect(html).toContain('Content-Security-Policy');
    expect(html).not.toMatch(/https?:\/\//); // everything bundled, no CDN
  });
});
