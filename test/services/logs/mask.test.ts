import { describe, expect, it } from 'vitest';
import { AuthMasker, maskAuth } from '../../../services/logs/mask.js';

describe('maskAuth', () => {
  it('masks the initial response of AUTH PLAIN and AUTH LOGIN, whatever the case', () => {
    expect(maskAuth('AUTH PLAIN AHRhbmFrYQBzZWNyZXQ=')).toBe('AUTH PLAIN ****');
    expect(maskAuth('AUTH LOGIN dGFuYWth')).toBe('AUTH LOGIN ****');
    expect(maskAuth('auth plain AHRhbmFrYQBzZWNyZXQ=')).toBe('auth plain ****');
    expect(maskAuth('AUTH PLAIN =')).toBe('AUTH PLAIN ****');
  });

  it('leaves other lines alone', () => {
    expect(maskAuth('AUTH LOGIN')).toBe('AUTH LOGIN');
    expect(maskAuth('AUTH CRAM-MD5')).toBe('AUTH CRAM-MD5');
    expect(maskAuth('MAIL FROM:<auth@example.jp>')).toBe('MAIL FROM:<auth@example.jp>');
    expect(maskAuth('EHLO author.example.jp')).toBe('EHLO author.example.jp');
  });
});

describe('AuthMasker (per session)', () => {
  it('AUTH LOGIN: user name and password lines after each 334 are masked', () => {
    const m = new AuthMasker();
    const log: string[] = [];
    const c = (l: string) => log.push(`< ${m.client(l)}`);
    const s = (l: string) => log.push(`> ${m.server(l)}`);
    c('AUTH LOGIN');
    s('334 VXNlcm5hbWU6');
    c('dGFuYWth');
    s('334 UGFzc3dvcmQ6');
    c('c2VjcmV0');
    s('235 2.7.0 Authentication successful');
    c('MAIL FROM:<tanaka@test.jp>');
    expect(log).toEqual([
      '< AUTH LOGIN',
      '> 334 VXNlcm5hbWU6',
      '< ****',
      '> 334 UGFzc3dvcmQ6',
      '< ****',
      '> 235 2.7.0 Authentication successful',
      '< MAIL FROM:<tanaka@test.jp>',
    ]);
    expect(log.join('\n')).not.toMatch(/dGFuYWth|c2VjcmV0/);
  });

  it('CRAM-MD5 digest and a PLAIN response after an empty challenge are masked', () => {
    const m = new AuthMasker();
    expect(m.client('AUTH CRAM-MD5')).toBe('AUTH CRAM-MD5');
    m.server('334 PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+');
    expect(m.client('dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw')).toBe('****');
    m.server('535 5.7.8 Authentication credentials invalid');
    expect(m.client('AUTH PLAIN')).toBe('AUTH PLAIN');
    m.server('334 ');
    expect(m.client('AHRhbmFrYQBzZWNyZXQ=')).toBe('****');
    m.server('235 2.7.0 ok');
    expect(m.client('QUIT')).toBe('QUIT');
  });

  it('only a 334 arms it: another reply in between disarms', () => {
    const m = new AuthMasker();
    m.server('334 VXNlcm5hbWU6');
    m.server('421 4.4.2 timeout');
    expect(m.client('RSET')).toBe('RSET');
    m.server('3345 not a 334');
    expect(m.client('NOOP')).toBe('NOOP');
  });
});
