// Attach or supervise, as data (the same decision against a real serve: test/e2e/attach.test.ts).
import { describe, it, expect } from 'vitest';
import { decideAppMode, sameFolder, type AttachInput } from '../../electron/attach.js';
import type { ControlProbe } from '../../services/control/client.js';

const sekisho = (workdir: string): ControlProbe => ({ kind: 'sekisho', authorized: true, version: { version: '0.1.0', node: 'v20', workdir } });
const base: Omit<AttachInput, 'probe'> = { workdir: 'C:\\mail', serviceInstalled: true, secretFound: true, platform: 'win32', address: '127.0.0.1:8025' };

describe('decideAppMode', () => {
  it('attaches to the service of its own work folder (Windows compares paths case-insensitively)', () => {
    expect(decideAppMode({ ...base, probe: sekisho('c:\\MAIL\\') })).toMatchObject({ mode: 'attach', waiting: false });
    expect(decideAppMode({ ...base, serviceInstalled: false, probe: sekisho('C:\\mail') })).toMatchObject({ mode: 'attach', waiting: false });
  });

  it('refuses a gateway of another work folder instead of fighting it for the ports', () => {
    const m = decideAppMode({ ...base, probe: sekisho('D:\\other') });
    expect(m.mode).toBe('refuse');
    expect(m.reason).toContain('D:\\other');
  });

  it('refuses when the running service does not accept us: never a second supervisor on its folder', () => {
    const probe: ControlProbe = { kind: 'sekisho', authorized: false, detail: 'wrong control secret' };
    const wrong = decideAppMode({ ...base, probe });
    expect(wrong.mode).toBe('refuse');
    expect(wrong.reason).toContain('wrong control secret');
    const unreadable = decideAppMode({ ...base, secretFound: false, probe });
    expect(unreadable.mode).toBe('refuse');
    expect(unreadable.reason).toMatch(/administrator/);
    expect(decideAppMode({ ...base, serviceInstalled: false, probe }).mode).toBe('refuse');
  });

  it('with the service installed but not answering (booting, restarting), waits for it', () => {
    const m = decideAppMode({ ...base, probe: { kind: 'none', detail: 'connection refused' } });
    expect(m).toMatchObject({ mode: 'attach', waiting: true });
  });

  it('with no service installed and nothing answering, supervises in-process as before', () => {
    expect(decideAppMode({ ...base, serviceInstalled: false, probe: { kind: 'none', detail: 'refused' } }).mode).toBe('supervise');
    // Something else on the control port is not a gateway: the app does not need that port.
    expect(decideAppMode({ ...base, serviceInstalled: false, probe: { kind: 'other', detail: 'HTTP 404' } }).mode).toBe('supervise');
  });
});

describe('sameFolder', () => {
  it('follows the platform', () => {
    expect(sameFolder('C:\\mail', 'c:\\Mail\\', 'win32')).toBe(true);
    expect(sameFolder('/srv/mail', '/srv/Mail', 'linux')).toBe(false);
    expect(sameFolder('/srv/mail/', '/srv/mail', 'linux')).toBe(true);
  });
});
