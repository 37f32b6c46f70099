// The tray icon: the app keeps running (and mail keeps flowing) with no window open.
import { Menu, Tray, nativeImage } from 'electron';
import { trayLabels } from './tray-labels.js';

export function createTray(opts: { icon: string; locale: string; attached?: boolean; onOpen: () => void; onQuit: () => void }): Tray {
  const labels = trayLabels(opts.locale, opts.attached ?? false);
  const image = nativeImage.createFromPath(opts.icon);
  const tray = new Tray(image.isEmpty() ? nativeImage.createEmpty() : image.resize({ width: 16, height: 16 }));
  tray.setToolTip(labels.tooltip);
  tray.setContextMenu(
    Menu.buildFromTemplate([
      { label: labels.open, click: opts.onOpen },
      { type: 'separator' },
      { label: labels.quit, click: opts.onQuit },
    ]),
  );
  tray.on('double-click', opts.onOpen);
  tray.on('click', opts.onOpen);
  return tray;
}
