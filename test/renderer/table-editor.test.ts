/// <reference types="svelte" />
// TableEditor (renderer/src/lib/state/table-editor.svelte.ts) against the real ControlApi
// handlers over a fresh work folder: rows, comment lines, undo/redo, dirty, validation,
// saving, and changes made on disk meanwhile.
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { mkdtemp, rm, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import { TableEditor, type TableApi } from '../../renderer/src/lib/state/table-editor.svelte.js';
import { createControlApi } from '../../services/control/handlers.js';
import { Supervisor } from '../../services/supervisor/index.js';
import { initWorkdir } from '../../services/config/init.js';

let dir: string;
let api: TableApi;

const EFFECT = [
  "' relay rules 中継設定",
  '#<> default',
  '',
  "' LAN",
  '192.168.0.0/24 norelay,2',
  '10.0.0.1 true',
];

async function writeEffect(lines: string[]) {
  await writeFile(join(dir, 'effect.dat'), iconv.encode(lines.join('\r\n') + '\r\n', 'cp932'));
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sekisho-editor-'));
  await initWorkdir(dir, { ports: [2525], controlPort: 8025 });
  await writeEffect(EFFECT);
  // The services are never started here: only the table handlers are exercised.
  api = createControlApi({ workdir: dir, supervisor: new Supervisor({ workdir: dir }) });
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function opened(): Promise<TableEditor> {
  const ed = new TableEditor('effect', api, { debounceMs: 10 });
  await ed.load();
  return ed;
}

const idOf = (ed: TableEditor, raw: string) => ed.rows.find((r) => r.raw === raw)!.id;

describe('TableEditor', () => {
  it('loads every line in file order, comments and blanks included, clean', async () => {
    const ed = await opened();
    expect(ed.lines).toEqual(EFFECT);
    expect(ed.rows.map((r) => ed.kind(r))).toEqual(['comment', 'rule', 'blank', 'comment', 'rule', 'rule']);
    expect(ed.dirty).toBe(false);
    expect(ed.format?.encoding).toBe('cp932');
    expect(ed.fields(ed.rows[4])).toEqual(['192.168.0.0/24', 'norelay,2']);
  });

  it('add, move and delete rows leave comment lines as they were, in order', async () => {
    const ed = await opened();
    const comments = () => ed.lines.filter((l) => l.startsWith("'"));
    const id = ed.addRow(idOf(ed, '#<> default'));
    ed.setField(id, 0, '192.168.0.5');
    ed.setField(id, 1, 'true');
    expect(ed.lines[2]).toBe('192.168.0.5 true');
    ed.moveDown(idOf(ed, '192.168.0.0/24 norelay,2'));
    expect(ed.lines.slice(-2)).toEqual(['10.0.0.1 true', '192.168.0.0/24 norelay,2']);
    ed.moveUp(idOf(ed, '#<> default')); // first swap: above the header comment
    expect(ed.lines[0]).toBe('#<> default');
    ed.deleteRow(idOf(ed, '10.0.0.1 true'));
    expect(comments()).toEqual(["' relay rules 中継設定", "' LAN"]);
    expect(ed.lines).toEqual(['#<> default', "' relay rules 中継設定", '192.168.0.5 true', '', "' LAN", '192.168.0.0/24 norelay,2']);
    // moving the first line up or the last down changes nothing
    ed.moveUp(ed.rows[0].id);
    ed.moveDown(ed.rows.at(-1)!.id);
    expect(ed.lines[0]).toBe('#<> default');
  });

  it('"add above" puts the row before the selected one, or first when none is selected', async () => {
    const ed = await opened();
    const id = ed.addRowBefore(idOf(ed, "' LAN"));
    ed.setField(id, 0, '10.1.1.1');
    ed.setField(id, 1, 'false');
    expect(ed.lines.slice(2, 5)).toEqual(['', '10.1.1.1 false', "' LAN"]);
    const first = ed.addRowBefore(undefined, "' top", false);
    expect(ed.lines[0]).toBe("' top");
    expect(ed.kind(ed.rows[0])).toBe('comment');
    expect(ed.rows[0].id).toBe(first);
    ed.undo();
    ed.undo();
    ed.undo();
    ed.undo();
    expect(ed.lines).toEqual(EFFECT);
  });

  it('undo and redo walk back and forth; typing in one field is one step; dirty follows the content', async () => {
    const ed = await opened();
    const id = ed.addRow();
    for (const text of ['1', '19', '192', '192.168.0.5']) ed.setField(id, 0, text);
    expect(ed.lines.at(-1)).toBe('192.168.0.5');
    expect(ed.dirty).toBe(true);
    ed.undo(); // the typing
    expect(ed.lines.at(-1)).toBe('');
    ed.undo(); // the added row
    expect(ed.lines).toEqual(EFFECT);
    expect(ed.dirty).toBe(false);
    expect(ed.canUndo).toBe(false);
    ed.redo();
    ed.redo();
    expect(ed.lines.at(-1)).toBe('192.168.0.5');
    expect(ed.canRedo).toBe(false);
    // a new edit drops the redo branch
    ed.undo();
    ed.setRaw(ed.rows.at(-1)!.id, "' note");
    expect(ed.canRedo).toBe(false);
  });

  it('shows the server diagnostics on the row they are about, and local hints at once', async () => {
    const ed = await opened();
    const bad = ed.addRow(undefined, '192.168.0.9 maybe');
    const afterOnly = ed.addRow(idOf(ed, "' LAN"), '172.16.0.0/12 only');
    // before the server answers: the dead lines after `only` are already marked
    expect(ed.diagnosticsOf(ed.rows.find((r) => r.id === bad)!).map((d) => d.code)).toContain('effect.dead-after-only');
    await ed.validateNow();
    const codes = ed.diagnosticsOf(ed.rows.find((r) => r.id === bad)!).map((d) => d.code);
    expect(codes).toContain('effect.bad-action');
    expect(ed.errorCount).toBe(1);
    // the error follows its row when rows move
    ed.moveUp(bad);
    expect(ed.diagnosticsOf(ed.rows.find((r) => r.id === bad)!).map((d) => d.code)).toContain('effect.bad-action');
    ed.deleteRow(afterOnly);
    ed.setField(bad, 1, 'default');
    await ed.validateNow();
    expect(ed.errorCount).toBe(0);
    // with the `only` line gone nothing is dead, and 10.0.0.1 is a single host (not dangerous);
    // its one warning is that it stands below `#<> default`: its bounces are not trusted
    expect(ed.warningCount).toBe(1);
    expect(ed.diagnosticsOf(ed.rows.find((r) => r.raw === '10.0.0.1 true')!).map((d) => d.code)).toEqual(['effect.null-sender-first']);
  });

  it('warns about a dangerous true that is not a single host', async () => {
    const ed = await opened();
    const id = ed.addRow(undefined, '192.168.*.* true');
    await ed.validateNow();
    expect(ed.diagnosticsOf(ed.rows.find((r) => r.id === id)!).map((d) => d.code)).toContain('effect.dangerous-true');
    expect(ed.diagnosticsOf(ed.rows.find((r) => r.raw === '10.0.0.1 true')!).map((d) => d.code)).not.toContain('effect.dangerous-true');
  });

  it('an invalid file is not saved and the file on disk stays as it was', async () => {
    const ed = await opened();
    ed.addRow(undefined, '192.168.0.9 maybe');
    const before = await readFile(join(dir, 'effect.dat'));
    const r = await ed.save();
    expect(r).toMatchObject({ ok: false, reason: 'invalid' });
    expect(ed.notice).toEqual({ kind: 'invalid' });
    expect(ed.dirty).toBe(true);
    expect(await readFile(join(dir, 'effect.dat'))).toEqual(before);
  });

  it('saves in place keeping CP932 and CRLF, then is clean at the new version', async () => {
    const ed = await opened();
    const v0 = ed.baseVersion;
    const id = ed.addRow(idOf(ed, "' LAN"));
    ed.setRaw(id, "' 経理部のPC");
    ed.setRaw(ed.addRow(id), '192.168.0.5 true');
    const r = await ed.save();
    expect(r?.ok).toBe(true);
    expect(ed.dirty).toBe(false);
    expect(ed.baseVersion).not.toBe(v0);
    const bytes = await readFile(join(dir, 'effect.dat'));
    const text = iconv.decode(bytes, 'cp932');
    expect(text).toBe(["' relay rules 中継設定", '#<> default', '', "' LAN", "' 経理部のPC", '192.168.0.5 true', '192.168.0.0/24 norelay,2', '10.0.0.1 true', ''].join('\r\n'));
    // a config event for our own save changes nothing
    ed.onConfigChanged(ed.baseVersion);
    expect(ed.notice).toEqual({ kind: 'saved' });
  });

  it('a file changed on disk: save answers conflict; Reload takes the disk version', async () => {
    const ed = await opened();
    ed.addRow(undefined, '192.168.0.5 true');
    await writeEffect([...EFFECT, '10.0.0.2 true']); // Notepad saved meanwhile
    const r = await ed.save();
    expect(r).toMatchObject({ ok: false, reason: 'conflict' });
    expect(ed.notice).toEqual({ kind: 'conflict', source: 'save' });
    await ed.reload();
    expect(ed.lines.at(-1)).toBe('10.0.0.2 true');
    expect(ed.dirty).toBe(false);
    expect(ed.notice).toBeNull();
  });

  it('a file changed on disk: Keep editing then save overwrites it with force', async () => {
    const ed = await opened();
    ed.addRow(undefined, '192.168.0.5 true');
    await writeEffect([...EFFECT, '10.0.0.2 true']);
    expect((await ed.save())?.ok).toBe(false);
    ed.keepEditing();
    expect(ed.forceNext).toBe(true);
    const r = await ed.save();
    expect(r?.ok).toBe(true);
    const text = iconv.decode(await readFile(join(dir, 'effect.dat')), 'cp932');
    expect(text).toContain('192.168.0.5 true');
    expect(text).not.toContain('10.0.0.2 true');
    expect(ed.forceNext).toBe(false);
  });

  it('a config event while dirty shows the notice; while clean it reloads silently', async () => {
    const ed = await opened();
    ed.addRow(undefined, '192.168.0.5 true');
    await writeEffect([...EFFECT, '10.0.0.3 true']);
    const { version } = await api.readTable('effect');
    ed.onConfigChanged(version);
    expect(ed.notice).toEqual({ kind: 'conflict', source: 'event' });
    expect(ed.lines.at(-1)).toBe('192.168.0.5 true'); // the edits are kept

    const clean = await opened();
    await writeEffect([...EFFECT, '10.0.0.4 true']);
    const v2 = (await api.readTable('effect')).version;
    clean.onConfigChanged(v2);
    for (let i = 0; i < 100 && clean.baseVersion !== v2; i++) await new Promise((r) => setTimeout(r, 10));
    expect(clean.baseVersion).toBe(v2);
    expect(clean.lines.at(-1)).toBe('10.0.0.4 true');
    expect(clean.notice).toBeNull();
  });
});
