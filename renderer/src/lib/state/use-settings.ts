import { onMount } from 'svelte';
import type { AppContext } from '../context.js';
import { SettingsModel } from './settings-model.svelte.js';

export function useSettings(ctx: AppContext): SettingsModel {
  const model = new SettingsModel({
    readSettings: () => ctx.api.call('readSettings'),
    saveSettings: (s, v) => ctx.api.call('saveSettings', s, v),
  });
  onMount(() => {
    void model.load();
    return ctx.onEvent((ev) => {
      if (ev.type === 'config' && ev.table === 'settings') model.onChanged(ev.version);
    });
  });
  return model;
}
