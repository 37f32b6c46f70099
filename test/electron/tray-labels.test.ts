import { describe, it, expect } from 'vitest';
import { trayLabels } from '../../electron/tray-labels.js';

describe('trayLabels', () => {
  it('are Japanese on a Japanese system and English otherwise', () => {
    expect(trayLabels('ja').open).toBe('メールコントロールを開く');
    expect(trayLabels('ja-JP').quit).toContain('終了');
    expect(trayLabels('en-US').open).toBe('Open Mail Control');
    expect(trayLabels('de').quit).toContain('Quit');
  });

  it('say what Quit does: stop the mail services, or (attached to the Windows service) only close the app', () => {
    expect(trayLabels('en-US').quit).toBe('Quit (stops the mail services)');
    expect(trayLabels('en-US', true).quit).toBe('Quit (mail keeps running in the service)');
    expect(trayLabels('ja', false).quit).toBe('終了 (メールサービスを停止)');
    expect(trayLabels('ja', true).quit).toBe('終了 (メールはサービスで動き続けます)');
  });
});
