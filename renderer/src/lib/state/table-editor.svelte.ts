// The state of one table editor (SPEC 11): the file's lines in order, the diagnostics of
// each line, undo/redo, the dirty flag and the version the edit started from. Components
// render it and call its methods; all the rules live here so they are testable without a DOM.
import type { Diagnostic, SaveTableResult, TableName, TableView, TextFileFormat } from '../api/types.js';
import { lineKind, TABLE_COLUMNS, type LineKind } from './table-columns.js';
import { localHints } from './local-hints.js';

/** The three calls an editor needs (a subset of ControlApi). */
export interface TableApi {
  readTable(table: TableName): Promise<TableView>;
  validateTable(table: TableName, lines: string[]): Promise<Diagnostic[]>;
  saveTable(req: { table: TableName; lines: string[]; baseVersion: string; force?: boolean }): Promise<SaveTableResult>;
}

export interface Row {
  /** Stable identity while the row moves around (not the line number). */
  id: number;
  raw: string;
  /**
   * Shown as rule columns even while empty: a row added with "Add rule", or a rule whose
   * fields were all cleared (else an empty line is a blank line, edited as text).
   */
  rule?: boolean;
}

export type Notice =
  | null
  /** The file changed on disk (a save answered `conflict`, or a config event while dirty). */
  | { kind: 'conflict'; source: 'save' | 'event' }
  | { kind: 'invalid' }
  | { kind: 'saved' }
  | { kind: 'error'; message: string };

interface Snapshot {
  rows: Row[];
  /** Consecutive edits of the same field are one undo step (typing a word is one edit). */
  coalesce: string | null;
}

export interface TableEditorOptions {
  /** Delay of the validation after the last keystroke. */
  debounceMs?: number;
  /** Undo steps kept. */
  undoLimit?: number;
}

export class TableEditor {
  readonly table: TableName;
  rows = $state<Row[]>([]);
  /** Diagnostics by row id (line-level), and those about the whole file (line 0 / unmapped). */
  rowDiagnostics = $state<Record<number, Diagnostic[]>>({});
  fileDiagnostics = $state<Diagnostic[]>([]);
  baseVersion = $state('');
  file = $state('');
  format = $state<TextFileFormat | null>(null);
  loading = $state(false);
  saving = $state(false);
  validating = $state(false);
  notice = $state<Notice>(null);
  /** Set by "Keep editing" after a conflict: the next save overwrites the file on disk. */
  forceNext = $state(false);
  private savedText = $state('');
  private undoStack = $state.raw<Snapshot[]>([]);
  private redoStack = $state.raw<Snapshot[]>([]);

  private serverByRow = new Map<number, Diagnostic[]>();
  private serverFile: Diagnostic[] = [];
  private nextId = 1;
  private validateSeq = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private deferredEvent: { version: string } | null = null;
  private readonly debounceMs: number;
  private readonly undoLimit: number;

  constructor(
    table: TableName,
    private readonly api: TableApi,
    opts: TableEditorOptions = {},
  ) {
    this.table = table;
    this.debounceMs = opts.debounceMs ?? 300;
    this.undoLimit = opts.undoLimit ?? 200;
  }

  // -------------------------------------------------------------------------------------
  // Reading

  get lines(): string[] {
    return this.rows.map((r) => r.raw);
  }

  get dirty(): boolean {
    return this.lines.join('\n') !== this.savedText;
  }

  get canUndo(): boolean {
    return this.undoStack.length > 0;
  }

  get canRedo(): boolean {
    return this.redoStack.length > 0;
  }

  get errorCount(): number {
    return this.allDiagnostics().filter((d) => d.severity === 'error').length;
  }

  get warningCount(): number {
    return this.allDiagnostics().filter((d) => d.severity === 'warning').length;
  }

  allDiagnostics(): Diagnostic[] {
    return [...this.fileDiagnostics, ...Object.values(this.rowDiagnostics).flat()];
  }

  kind(row: Row): LineKind {
    const k = lineKind(row.raw);
    return k === 'blank' && row.rule ? 'rule' : k;
  }

  fields(row: Row): string[] {
    return TABLE_COLUMNS[this.table].split(row.raw);
  }

  diagnosticsOf(row: Row): Diagnostic[] {
    return this.rowDiagnostics[row.id] ?? [];
  }

  lineNumberOf(row: Row): number {
    return this.rows.indexOf(row) + 1;
  }

  // -------------------------------------------------------------------------------------
  // Loading

  async load(): Promise<void> {
    this.loading = true;
    try {
      this.applyView(await this.api.readTable(this.table));
    } catch (err) {
      this.notice = { kind: 'error', message: (err as Error).message };
    } finally {
      this.loading = false;
    }
  }

  /** Replace everything with the file as read (load, reload, or the `current` of a conflict). */
  applyView(view: TableView): void {
    this.cancelValidation();
    const rows = view.lines.map((l) => ({ id: this.nextId++, raw: l.raw }));
    this.rows = rows;
    this.file = view.file;
    this.format = view.format;
    this.baseVersion = view.version;
    this.savedText = rows.map((r) => r.raw).join('\n');
    this.undoStack = [];
    this.redoStack = [];
    this.notice = null;
    this.forceNext = false;
    this.deferredEvent = null;
    this.setDiagnostics(rows, view.diagnostics);
  }

  // -------------------------------------------------------------------------------------
  // Editing: every change goes through mutate() so undo, dirty and validation follow.

  setRaw(id: number, raw: string): void {
    const i = this.indexOf(id);
    if (i < 0 || this.rows[i].raw === raw) return;
    this.mutate(`raw:${id}`, (rows) => {
      rows[i] = { id, raw };
    });
  }

  setField(id: number, column: number, value: string): void {
    const i = this.indexOf(id);
    if (i < 0) return;
    const cols = TABLE_COLUMNS[this.table];
    const fields = cols.split(this.rows[i].raw);
    fields[column] = value;
    const raw = cols.compose(fields);
    if (raw === this.rows[i].raw) return;
    this.mutate(`field:${id}:${column}`, (rows) => {
      rows[i] = { id, raw, rule: true };
    });
  }

  /**
   * Insert a line after `afterId` (at the end when absent); returns the new row's id. An
   * empty line added as a rule shows the rule columns; `raw` with text is classified by it.
   */
  addRow(afterId?: number, raw = '', asRule = true): number {
    const id = this.nextId++;
    const at = afterId === undefined ? this.rows.length : this.indexOf(afterId) + 1;
    this.mutate(null, (rows) => {
      // An unknown afterId (row deleted meanwhile) appends at the end.
      rows.splice(afterId !== undefined && at === 0 ? rows.length : at, 0, { id, raw, rule: asRule });
    });
    return id;
  }

  /** Insert a line before `beforeId` (at the start when absent); returns the new row's id. */
  addRowBefore(beforeId?: number, raw = '', asRule = true): number {
    const id = this.nextId++;
    const i = beforeId === undefined ? 0 : Math.max(0, this.indexOf(beforeId));
    this.mutate(null, (rows) => {
      rows.splice(i, 0, { id, raw, rule: asRule });
    });
    return id;
  }

  /** Swap a row with the line above it. Every other line, comments included, keeps its place. */
  moveUp(id: number): void {
    const i = this.indexOf(id);
    if (i <= 0) return;
    this.mutate(null, (rows) => {
      [rows[i - 1], rows[i]] = [rows[i], rows[i - 1]];
    });
  }

  moveDown(id: number): void {
    const i = this.indexOf(id);
    if (i < 0 || i >= this.rows.length - 1) return;
    this.mutate(null, (rows) => {
      [rows[i], rows[i + 1]] = [rows[i + 1], rows[i]];
    });
  }

  deleteRow(id: number): void {
    const i = this.indexOf(id);
    if (i < 0) return;
    this.mutate(null, (rows) => {
      rows.splice(i, 1);
    });
  }

  undo(): void {
    const prev = this.undoStack.at(-1);
    if (!prev) return;
    this.undoStack = this.undoStack.slice(0, -1);
    this.redoStack = [...this.redoStack, { rows: this.rows.map((r) => ({ ...r })), coalesce: null }];
    this.rows = prev.rows;
    this.afterChange();
  }

  redo(): void {
    const next = this.redoStack.at(-1);
    if (!next) return;
    this.redoStack = this.redoStack.slice(0, -1);
    this.undoStack = [...this.undoStack, { rows: this.rows.map((r) => ({ ...r })), coalesce: null }];
    this.rows = next.rows;
    this.afterChange();
  }

  private mutate(coalesce: string | null, change: (rows: Row[]) => void): void {
    const last = this.undoStack.at(-1);
    if (!(coalesce && last && last.coalesce === coalesce)) {
      const snap = { rows: this.rows.map((r) => ({ ...r })), coalesce };
      this.undoStack = [...this.undoStack, snap].slice(-this.undoLimit);
    }
    this.redoStack = [];
    const rows = this.rows.map((r) => ({ ...r }));
    change(rows);
    this.rows = rows;
    this.afterChange();
  }

  private afterChange(): void {
    this.notice = this.notice?.kind === 'conflict' ? this.notice : null;
    // Server diagnostics stay on the rows they were about until the next answer; the local
    // hints depend on positions (dead lines after `only`) and are recomputed at once.
    this.combineDiagnostics();
    this.scheduleValidation();
  }

  private indexOf(id: number): number {
    return this.rows.findIndex((r) => r.id === id);
  }

  // -------------------------------------------------------------------------------------
  // Validation (debounced while typing; the answer is matched to the rows it was asked for)

  scheduleValidation(): void {
    this.cancelValidation();
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.validateNow();
    }, this.debounceMs);
  }

  cancelValidation(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  async validateNow(): Promise<void> {
    this.cancelValidation();
    const seq = ++this.validateSeq;
    const rows = this.rows.slice();
    this.validating = true;
    try {
      const diags = await this.api.validateTable(this.table, rows.map((r) => r.raw));
      if (seq !== this.validateSeq) return; // a newer edit asked again
      this.setDiagnostics(rows, diags);
    } catch (err) {
      if (seq === this.validateSeq) this.notice = { kind: 'error', message: (err as Error).message };
    } finally {
      if (seq === this.validateSeq) this.validating = false;
    }
  }

  /** Attach the server's diagnostics (line numbers of `rows`) to row ids. */
  private setDiagnostics(rows: Row[], server: Diagnostic[]): void {
    const byRow = new Map<number, Diagnostic[]>();
    const file: Diagnostic[] = [];
    for (const d of server) {
      const row = d.line > 0 ? rows[d.line - 1] : undefined;
      if (row) byRow.set(row.id, [...(byRow.get(row.id) ?? []), d]);
      else file.push(d);
    }
    this.serverByRow = byRow;
    this.serverFile = file;
    this.combineDiagnostics();
  }

  /** Server diagnostics of rows that still exist, plus the local hints for the current lines. */
  private combineDiagnostics(): void {
    const byRow: Record<number, Diagnostic[]> = {};
    const file = [...this.serverFile];
    const ids = new Set(this.rows.map((r) => r.id));
    for (const [id, list] of this.serverByRow) if (ids.has(id)) byRow[id] = [...list];
    localHints(this.table, this.lines).forEach((h) => {
      const row = this.rows[h.line - 1];
      const list = (byRow[row.id] ??= []);
      if (!list.some((d) => d.code === h.code)) list.push(h);
    });
    for (const list of Object.values(byRow)) {
      list.sort((a, b) => (a.severity === b.severity ? a.column - b.column : a.severity === 'error' ? -1 : 1));
    }
    this.rowDiagnostics = byRow;
    this.fileDiagnostics = file;
  }

  // -------------------------------------------------------------------------------------
  // Saving and changes made elsewhere

  async save(): Promise<SaveTableResult | null> {
    if (this.saving) return null;
    this.cancelValidation();
    this.saving = true;
    const rows = this.rows.slice();
    const lines = rows.map((r) => r.raw);
    let result: SaveTableResult;
    try {
      result = await this.api.saveTable({
        table: this.table,
        lines,
        baseVersion: this.baseVersion,
        ...(this.forceNext ? { force: true } : {}),
      });
    } catch (err) {
      this.saving = false;
      this.notice = { kind: 'error', message: (err as Error).message };
      return null;
    }
    this.saving = false;
    if (result.ok) {
      this.baseVersion = result.version;
      this.savedText = lines.join('\n');
      this.forceNext = false;
      this.notice = { kind: 'saved' };
      this.setDiagnostics(rows, result.diagnostics);
    } else if (result.reason === 'invalid') {
      this.notice = { kind: 'invalid' };
      this.setDiagnostics(rows, result.diagnostics);
    } else {
      this.notice = { kind: 'conflict', source: 'save' };
    }
    // An event that came while saving is judged against the version we have now.
    const ev = this.deferredEvent;
    this.deferredEvent = null;
    if (ev) this.onConfigChanged(ev.version);
    return result;
  }

  /** "Reload": drop the edits and read the file as it is on disk. */
  async reload(): Promise<void> {
    await this.load();
  }

  /** "Keep editing": dismiss the notice; the next save overwrites the file on disk. */
  keepEditing(): void {
    this.forceNext = true;
    this.notice = null;
  }

  dismissNotice(): void {
    if (this.notice?.kind !== 'conflict') this.notice = null;
  }

  /** A `config` event for this table: the file on disk now has `version`. */
  onConfigChanged(version: string): void {
    if (version === this.baseVersion) return; // our own save, or nothing new
    if (this.saving) {
      this.deferredEvent = { version };
      return;
    }
    if (this.dirty) {
      this.notice = { kind: 'conflict', source: 'event' };
      return;
    }
    void this.load();
  }

  dispose(): void {
    this.cancelValidation();
  }
}
