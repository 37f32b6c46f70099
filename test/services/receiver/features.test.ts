import { describe, it, expect } from 'vitest';
import { defaultSettings } from '../../../services/config/settings.js';
import { authRefusal, ehloKeywords, offeredAuthMethods } from '../../../services/receiver/features.js';
import { formatReply } from '../../../services/receiver/replies.js';

const ctx = (over: Partial<Parameters<typeof authRefusal>[0]> = {}) => ({
  settings: defaultSettings(),
  tlsConfigured: true,
  secure: false,
  authenticated: false,
  inTransaction: false,
  ...over,
});

describe('AUTH availability', () => {
  it('waits for TLS when a certificate is configured and requireTlsForAuth is on', () => {
    expect(formatReply(authRefusal(ctx())!)).toBe('538 5.7.11 Encryption required for requested authentication mechanism');
    expect(offeredAuthMethods(ctx())).toEqual([]);
    expect(authRefusal(ctx({ secure: true }))).toBeNull();
    expect(offeredAuthMethods(ctx({ secure: true }))).toEqual(['PLAIN', 'LOGIN', 'CRAM-MD5']);
  });

  it('is never possible without a certificate when requireTlsForAuth is on', () => {
    expect(formatReply(authRefusal(ctx({ tlsConfigured: false }))!)).toBe('503 5.5.1 Error: authentication not enabled');
  });

  it('runs on a plain session when requireTlsForAuth is off', () => {
    const s = defaultSettings();
    s.receiver.requireTlsForAuth = false;
    s.auth.methods = ['LOGIN'];
    expect(authRefusal(ctx({ settings: s, tlsConfigured: false }))).toBeNull();
    expect(offeredAuthMethods(ctx({ settings: s }))).toEqual(['LOGIN']);
  });

  it('is off with auth.enabled false, once authenticated, and inside a transaction (RFC 4954 4)', () => {
    const s = defaultSettings();
    s.auth.enabled = false;
    expect(authRefusal(ctx({ settings: s, secure: true }))?.code).toBe(503);
    expect(authRefusal(ctx({ secure: true, authenticated: true }))?.text).toBe('Error: already authenticated');
    expect(authRefusal(ctx({ secure: true, inTransaction: true }))?.text).toBe('Error: MAIL transaction in progress');
  });
});

describe('EHLO keywords', () => {
  const lib = ['PIPELINING', '8BITMIME', 'SMTPUTF8', 'ENHANCEDSTATUSCODES', 'DSN', 'AUTH LOGIN PLAIN', 'STARTTLS', 'SIZE 100'];
  it('keeps the library extensions, sets AUTH and SIZE ourselves', () => {
    const s = defaultSettings();
    s.receiver.maxMessageBytes = 1000;
    expect(ehloKeywords(lib, ctx({ settings: s, secure: true }))).toEqual([
      'PIPELINING',
      '8BITMIME',
      'SMTPUTF8',
      'ENHANCEDSTATUSCODES',
      'STARTTLS',
      'AUTH PLAIN LOGIN CRAM-MD5',
      'SIZE 1000',
    ]);
  });
  it('advertises SIZE without a number when unlimited (RFC 1870 4) and no AUTH before TLS', () => {
    expect(ehloKeywords(lib, ctx())).toEqual(['PIPELINING', '8BITMIME', 'SMTPUTF8', 'ENHANCEDSTATUSCODES', 'STARTTLS', 'SIZE']);
  });
});
