// The tray menu in the system's language (issue 8): Japanese on a Japanese Windows. What Quit
// does depends on who runs the mail (issue 16): attached to the Windows service, quitting closes
// only the app; supervising in-process, it stops the mail services.
export interface TrayLabels {
  tooltip: string;
  open: string;
  quit: string;
}

export function trayLabels(locale: string, attached = false): TrayLabels {
  const ja = locale.toLowerCase().startsWith('ja');
  if (ja) {
    return {
      tooltip: attached ? '関所 Sekisho — メールゲートウェイ (サービスで動作中)' : '関所 Sekisho — メールゲートウェイ',
      open: 'メールコントロールを開く',
      quit: attached ? '終了 (メールはサービスで動き続けます)' : '終了 (メールサービスを停止)',
    };
  }
  return {
    tooltip: attached ? 'Sekisho mail gateway (running as a Windows service)' : 'Sekisho mail gateway',
    open: 'Open Mail Control',
    quit: attached ? 'Quit (mail keeps running in the service)' : 'Quit (stops the mail services)',
  };
}
