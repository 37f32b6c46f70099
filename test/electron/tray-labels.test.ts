import { describe, it, expect } from 'vitest';
import { trayLabels } from '../../electron/tray-labels.js';

describe('trayLabels', () => {
  it('are Japanese on a Japanese system and English otherwise', () => {
    expect(trayLabels('ja').open).toBe('メールコントロールを開く');
    expect(trayLabels('ja-JP').quit).toContain('終了');
    expect(trayLabels('en-US').open).toBe('Open Mail Control');
    expect(trayLabels('de').quit).toContain('Quit');
  });
});
