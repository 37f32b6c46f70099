/// <reference types="svelte" />
// The configuration's health as header and overview show it (renderer/src/lib/state/
// health.svelte.ts), against the real ControlApi handlers: a broken file on disk is an
// error (the services keep the last good version), apart from the warnings.
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigHealth, location, splitBySeverity } from '../../renderer/src/lib/state/health.svelte.js';
import type { ControlApi, Diagnostic } from '../../services/control/api.js';
import { createControlApi } from '../../services/control/handlers.js';
import { Supervisor } from '../../services/supervisor/index.js';
import { initWorkdir } from '../../services/config/init.js';

let dir: string;
let api: ControlApi;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sekisho-health-'));
  await initWorkdir(dir, { ports: [2525], controlPort: 8025 });
  api = createControlApi({ workdir: dir, supervisor: new Supervisor({ workdir: dir }) });
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ConfigHealth', () => {
  it('counts a broken gateway.dat as one error, with its place, apart from warnings', async () => {
    const health = new ConfigHealth(api);
    await health.refresh();
    expect(health.errors).toEqual([]);
    await writeFile(join(dir, 'gateway.dat'), "' routes\r\nremote.example, 127.0.0.1, abc\r\n");
    await health.refresh();
    expect(health.loaded).toBe(true);
    expect(health.errors).toHaveLength(1);
    expect(location(health.errors[0])).toMatch(/^gateway\.dat:2(:\d+)?$/);
    expect(health.errorsOf('gateway.dat')).toHaveLength(1);
    expect(health.errorsOf('effect.dat')).toEqual([]);
    expect(health.warnings.every((w) => w.severity !== 'error')).toBe(true);
  });

  it('one problem reported twice is counted once; an older server\'s warnings() is split by severity', async () => {
    const d: Diagnostic = { file: 'effect.dat', line: 3, column: 1, severity: 'error', code: 'effect.bad-action', message: 'unknown action' };
    const w: Diagnostic = { ...d, severity: 'warning', code: 'effect.dangerous-true', message: 'dangerous' };
    const health = new ConfigHealth({ configHealth: async () => ({ errors: [d, { ...d }], warnings: [w] }) });
    await health.refresh();
    expect(health.errors).toHaveLength(1);
    expect(health.warnings).toHaveLength(1);
    expect(splitBySeverity([w, d])).toEqual({ errors: [d], warnings: [w] });
    expect(location({ ...d, line: 0 })).toBe('effect.dat');
    expect(location({ ...d, column: 0 })).toBe('effect.dat:3');
  });
});
