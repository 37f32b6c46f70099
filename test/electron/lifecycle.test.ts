import { describe, it, expect } from 'vitest';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeferredShow, closeAction, openAppLog, startupFailureText } from '../../electron/lifecycle.js';

describe('DeferredShow (second-instance before the window exists)', () => {
  it('keeps a request made before the window can exist and serves it once ready', () => {
    const d = new DeferredShow();
    let shown = 0;
    d.request();
    d.request();
    expect(shown).toBe(0);
    d.ready(() => shown++);
    expect(shown).toBe(1); // the early requests are one "show"
    d.request();
    expect(shown).toBe(2);
  });

  it('does nothing at ready when nobody asked', () => {
    const d = new DeferredShow();
    let shown = 0;
    d.ready(() => shown++);
    expect(shown).toBe(0);
  });
});

describe('closeAction (logoff and shutdown never wait on hide-to-tray)', () => {
  it('hides while the app runs, closes when it quits or Windows ends the session', () => {
    expect(closeAction({ quitting: false, sessionEnding: false })).toBe('hide');
    expect(closeAction({ quitting: true, sessionEnding: false })).toBe('close');
    expect(closeAction({ quitting: false, sessionEnding: true })).toBe('close');
  });
});

describe('openAppLog', () => {
  it('appends timestamped lines, creates the folder, and rolls the file past its limit', async () => {
    const root = await mkdtemp(join(tmpdir(), 'sekisho-applog-'));
    try {
      const dir = join(root, 'userData');
      const log = openAppLog(dir, { maxBytes: 200 });
      log.write('startup failed: Error: boom\n    at x');
      const text = await readFile(log.path, 'utf8');
      expect(text).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z startup failed: Error: boom\n {4} {4}at x\n$/);
      for (let i = 0; i < 10; i++) log.write(`line ${i} ${'x'.repeat(40)}`);
      expect((await stat(`${log.path}.1`)).size).toBeGreaterThan(200);
      expect((await stat(log.path)).size).toBeLessThan(400);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('never throws when the folder cannot be made', async () => {
    const root = await mkdtemp(join(tmpdir(), 'sekisho-applog-'));
    try {
      // A folder below a plain file: ENOTDIR.
      await writeFile(join(root, 'file'), '');
      const log = openAppLog(join(root, 'file', 'sub'));
      expect(() => log.write('x')).not.toThrow();
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('startupFailureText', () => {
  it('names the error and the log file, in Japanese or English', () => {
    const ja = startupFailureText('ja-JP', new Error('control port 8025 is already in use'), 'C:\\log.txt');
    expect(ja.title).toBe('Sekisho を起動できません');
    expect(ja.body).toContain('control port 8025 is already in use');
    expect(ja.body).toContain('C:\\log.txt');
    expect(startupFailureText('en', 'x', '/l').title).toBe('Sekisho could not start');
  });
});
