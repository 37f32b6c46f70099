// The UI language (issue 8): Japanese by default when the browser/OS language is Japanese,
// switchable in the app and remembered in localStorage. SMTP replies and log lines are not
// translated (they are protocol text that admins search for); everything else is.
import type { Diagnostic } from '../api/types.js';
import { messages, type Lang, type MessageKey } from './messages.js';
import { serviceText } from './service-text.js';

export type { Lang, MessageKey };

const STORAGE_KEY = 'sekisho.lang';

export function initialLang(stored: string | null, navigatorLanguage: string | undefined): Lang {
  if (stored === 'ja' || stored === 'en') return stored;
  return (navigatorLanguage ?? '').toLowerCase().startsWith('ja') ? 'ja' : 'en';
}

function storage(): Storage | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    return null; // file:// in some browsers, or storage disabled
  }
}

/** `{name}` placeholders. */
export function format(template: string, params?: Record<string, string | number>): string {
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (m, k: string) => (k in params ? String(params[k]) : m));
}

export class I18n {
  lang = $state<Lang>('en');

  constructor(lang?: Lang) {
    this.lang =
      lang ?? initialLang(storage()?.getItem(STORAGE_KEY) ?? null, typeof navigator === 'undefined' ? undefined : navigator.language);
  }

  setLang(lang: Lang): void {
    this.lang = lang;
    storage()?.setItem(STORAGE_KEY, lang);
    if (typeof document !== 'undefined') document.documentElement.lang = lang;
  }

  /** A UI text. Unknown keys show as themselves, so a missing text is visible, not blank. */
  t = (key: MessageKey | string, params?: Record<string, string | number>): string => {
    const table = messages[this.lang] as Record<string, string>;
    const text = table[key] ?? (messages.en as Record<string, string>)[key] ?? key;
    return format(text, params);
  };

  /** A diagnostic in the UI language, by its stable code; the English message otherwise. */
  diagnostic = (d: Diagnostic): string => {
    const key = `diag.${d.code}`;
    const table = messages[this.lang] as Record<string, string>;
    if (this.lang === 'en' || !(key in table)) return d.message;
    // Quoted parts of the English message (the offending text) are kept for context.
    const quoted = d.message.match(/"[^"]*"/g)?.join(' ') ?? '';
    return format(table[key], { quoted, message: d.message }).trim();
  };

  /** A sentence a service sent (an exit reason, a policy reason or trace line) in the UI language. */
  service = (text: string | null | undefined): string => serviceText(text, this.lang);

  date = (iso: string | null | undefined, withSeconds = true): string => {
    if (!iso) return '—';
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return iso;
    return new Intl.DateTimeFormat(this.lang === 'ja' ? 'ja-JP' : 'en-GB', {
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      ...(withSeconds ? { second: '2-digit' } : {}),
    }).format(d);
  };

  duration = (ms: number | null | undefined): string => {
    if (ms == null) return '—';
    const s = Math.floor(ms / 1000);
    const d = Math.floor(s / 86400);
    const h = Math.floor((s % 86400) / 3600);
    const m = Math.floor((s % 3600) / 60);
    const sec = s % 60;
    const p = (n: number) => String(n).padStart(2, '0');
    return d > 0 ? this.t('time.days', { d, hms: `${p(h)}:${p(m)}:${p(sec)}` }) : `${p(h)}:${p(m)}:${p(sec)}`;
  };

  number = (n: number): string => new Intl.NumberFormat(this.lang === 'ja' ? 'ja-JP' : 'en-US').format(n);
}
