import type { I18n } from '../i18n/i18n.svelte.js';
import type { SettingsModel } from '../state/settings-model.svelte.js';

/** The issue of a settings key, in the UI language where we know it. */
export function issueText(i18n: I18n, model: SettingsModel, path: string): string {
  const i = model.issueAt(path);
  if (!i) return '';
  if (i.key) return i18n.t(i.key, i.params);
  return i18n.t('check.server', { message: i.message ?? '' });
}

/** A list typed as text: one item per line or separated by commas/spaces. */
export function parseList(text: string): string[] {
  return text
    .split(/[\s,;、]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

export function parseIntList(text: string): number[] {
  return parseList(text).map((s) => (/^\d+$/.test(s) ? Number(s) : NaN));
}
