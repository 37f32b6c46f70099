import { describe, it, expect } from 'vitest';
import { chooseWorkdir, defaultWorkdir, workdirFromArgv } from '../../electron/workdir.js';

describe('work folder of the desktop app', () => {
  it('defaults to C:\\mail on Windows and ~/.sekisho elsewhere', () => {
    expect(defaultWorkdir('win32', 'C:\\Users\\admin')).toBe('C:\\mail');
    expect(defaultWorkdir('linux', '/home/admin')).toBe('/home/admin/.sekisho');
    expect(defaultWorkdir('darwin', '/Users/admin')).toBe('/Users/admin/.sekisho');
  });

  it('takes --workdir DIR or --workdir=DIR, the last one winning', () => {
    expect(workdirFromArgv(['.', '--workdir', '/srv/mail'])).toBe('/srv/mail');
    expect(workdirFromArgv(['--workdir=/a', '--workdir', '/b'])).toBe('/b');
    expect(workdirFromArgv(['--workdir'])).toBeNull();
    expect(workdirFromArgv(['--workdir', '--other'])).toBeNull();
    expect(workdirFromArgv(['--workdir='])).toBeNull();
    expect(workdirFromArgv(['--inspect'])).toBeNull();
  });

  it('resolves a relative --workdir against the current folder, per platform', () => {
    expect(chooseWorkdir({ argv: ['--workdir', 'mail'], platform: 'linux', homedir: '/home/a', cwd: '/opt/sekisho' })).toBe('/opt/sekisho/mail');
    expect(chooseWorkdir({ argv: ['--workdir', 'D:\\gw'], platform: 'win32', homedir: 'C:\\Users\\a', cwd: 'C:\\Program Files\\Sekisho' })).toBe('D:\\gw');
    expect(chooseWorkdir({ argv: [], platform: 'win32', homedir: 'C:\\Users\\a', cwd: 'C:\\x' })).toBe('C:\\mail');
  });
});
