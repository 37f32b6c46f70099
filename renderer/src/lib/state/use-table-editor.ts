// Create a TableEditor bound to the app's API and event stream for the component's lifetime.
import { onMount } from 'svelte';
import type { TableName } from '../api/types.js';
import type { AppContext } from '../context.js';
import { TableEditor, type TableApi } from './table-editor.svelte.js';

export function tableApi(ctx: Pick<AppContext, 'api'>): TableApi {
  return {
    readTable: (table) => ctx.api.call('readTable', table),
    validateTable: (table, lines) => ctx.api.call('validateTable', table, lines),
    saveTable: (req) => ctx.api.call('saveTable', req),
  };
}

export function useTableEditor(ctx: AppContext, table: TableName): TableEditor {
  const editor = new TableEditor(table, tableApi(ctx));
  onMount(() => {
    void editor.load();
    const off = ctx.onEvent((ev) => {
      if (ev.type === 'config' && ev.table === table) editor.onConfigChanged(ev.version);
    });
    const untrack = ctx.trackDirty(() => editor.dirty);
    return () => {
      off();
      untrack();
      editor.dispose();
    };
  });
  return editor;
}
