import { describe, expect, it } from 'vitest';
import { hostAllowed, hostName, isLoopback, SessionStore } from '../../../services/control/http-security.js';

describe('host and loopback checks', () => {
  it('knows loopback names and addresses', () => {
    for (const a of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', 'app.localhost', '::ffff:127.0.0.1']) expect(isLoopback(a)).toBe(true);
    for (const a of ['0.0.0.0', '192.168.0.1', 'evil.example', 'localhost.evil.example', '::']) expect(isLoopback(a)).toBe(false);
  });

  it('strips the port of a Host header, IPv6 included', () => {
    expect(hostName('127.0.0.1:8025')).toBe('127.0.0.1');
    expect(hostName('[::1]:8025')).toBe('[::1]');
    expect(hostName('Gw.Test.JP')).toBe('gw.test.jp');
    expect(hostName(undefined)).toBe('');
  });

  it('without a password answers loopback names and the literal bind address only', () => {
    expect(hostAllowed('localhost:8025', '127.0.0.1', false)).toBe(true);
    expect(hostAllowed('[::1]:8025', '::1', false)).toBe(true);
    expect(hostAllowed('192.168.0.5:8025', '192.168.0.5', false)).toBe(true);
    expect(hostAllowed('gw.test.jp:8025', '192.168.0.5', false)).toBe(false);
    expect(hostAllowed('10.0.0.1:8025', '0.0.0.0', false)).toBe(false);
    expect(hostAllowed(undefined, '127.0.0.1', false)).toBe(false);
    // With a password, the name does not matter: the credentials do.
    expect(hostAllowed('gw.test.jp:8025', '0.0.0.0', true)).toBe(true);
  });
});

describe('SessionStore', () => {
  it('accepts its own tokens for the password they were opened with only', () => {
    const s = new SessionStore();
    const t = s.open('pw');
    expect(s.valid(t, 'pw')).toBe(true);
    expect(s.valid(t + 'x', 'pw')).toBe(false);
    expect(s.valid(t, 'other')).toBe(false);
    // Ended by the password change: not valid again with the old one either.
    expect(s.valid(t, 'pw')).toBe(false);
  });

  it('with several accepted credentials (password and control secret), a session lives while its own one is among them', () => {
    const s = new SessionStore();
    const bySecret = s.open('secret');
    const byPassword = s.open('pw');
    expect(s.valid(bySecret, ['pw', 'secret'])).toBe(true);
    expect(s.valid(byPassword, ['pw', 'secret'])).toBe(true);
    // The password changed: the secret's session stays, the old password's ends.
    expect(s.valid(bySecret, ['pw2', 'secret'])).toBe(true);
    expect(s.valid(byPassword, ['pw2', 'secret'])).toBe(false);
    // An empty credential (no password set) never matches anything.
    expect(s.valid(s.open(''), [''])).toBe(false);
  });

  it('forgets idle sessions', async () => {
    const s = new SessionStore(50);
    const t = s.open('pw');
    await new Promise((r) => setTimeout(r, 80));
    expect(s.valid(t, 'pw')).toBe(false);
  });
});
