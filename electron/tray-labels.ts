// The tray menu in the system's language (issue 8): Japanese on a Japanese Windows.
export interface TrayLabels {
  tooltip: string;
  open: string;
  quit: string;
}

export function trayLabels(locale: string): TrayLabels {
  return locale.toLowerCase().startsWith('ja')
    ? { tooltip: '関所 Sekisho — メールゲートウェイ', open: 'メールコントロールを開く', quit: '終了 (メールサービスを停止)' }
    : { tooltip: 'Sekisho mail gateway', open: 'Open Mail Control', quit: 'Quit (stops the mail services)' };
}
