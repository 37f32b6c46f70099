import { onMount } from 'svelte';
import type { AppContext } from '../context.js';
import type { HttpClient } from '../api/http-client.js';
import type { Settings } from '../api/types.js';
import { SettingsModel } from './settings-model.svelte.js';

export function useSettings(ctx: AppContext): SettingsModel {
  const model: SettingsModel = new SettingsModel({
    readSettings: () => ctx.api.call('readSettings'),
    saveSettings: (s, v) => {
      // A new control password ends this page's session once the server applies it: let the
      // HTTP client log in again with it instead of showing the login page (http-client.ts).
      const pw = (s as Settings).control?.password ?? '';
      if (ctx.api.kind === 'http' && pw && pw !== model.saved?.control.password) (ctx.api as HttpClient).expectPassword(pw);
      return ctx.api.call('saveSettings', s, v);
    },
  });
  onMount(() => {
    void model.load();
    const untrack = ctx.trackDirty(() => model.dirty);
    const off = ctx.onEvent((ev) => {
      if (ev.type === 'config' && ev.table === 'settings') model.onChanged(ev.version);
    });
    return () => {
      off();
      untrack();
    };
  });
  return model;
}
