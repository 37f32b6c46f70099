import { describe, expect, it } from 'vitest';
import { parseAddress, isSameOrSubdomain, normalizeDomain } from '../../../services/policy/address.js';

describe('parseAddress', () => {
  it.each([
    // input, local, localKey, domain
    ['user@test.jp', 'user', 'user', 'test.jp'],
    ['<User@Test.JP>', 'User', 'user', 'test.jp'],
    ['  <a.b@x.co.jp>  ', 'a.b', 'a.b', 'x.co.jp'],
    ['"john doe"@test.jp', '"john doe"', 'john doe', 'test.jp'],
    ['"Post\\"master"@test.jp', '"Post\\"master"', 'post"master', 'test.jp'],
    // Japanese mobile-carrier addresses that break RFC dot-atom rules are still mail.
    ['taro..yamada.@docomo.ne.jp', 'taro..yamada.', 'taro..yamada.', 'docomo.ne.jp'],
    ['user@test.jp.', 'user', 'user', 'test.jp'],
    ['ユーザ@例え.jp', 'ユーザ', 'ユーザ', '例え.jp'],
  ])('%s', (input, local, localKey, domain) => {
    const a = parseAddress(input);
    expect(a.error).toBeUndefined();
    expect(a.abuse).toBeUndefined();
    expect([a.local, a.localKey, a.domain]).toEqual([local, localKey, domain]);
  });

  it('normalises a trailing dot but remembers it', () => {
    const a = parseAddress('user@TEST.jp.');
    expect(a.domain).toBe('test.jp');
    expect(a.address).toBe('user@test.jp');
    expect(a.trailingDot).toBe(true);
    expect(parseAddress('user@test.jp').trailingDot).toBe(false);
  });

  it('quoting never changes the mailbox a local part names', () => {
    expect(parseAddress('"postmaster"@test.jp').localKey).toBe(parseAddress('PostMaster@test.jp').localKey);
  });

  it.each([
    ['user%ext.jp@test.jp', 'percent-hack', 'test.jp'],
    ['"user%ext.jp"@test.jp', 'percent-hack', 'test.jp'],
    ['"user@ext.jp"@test.jp', 'quoted-at', 'test.jp'],
    ['user@ext.jp@test.jp', 'multiple-at', 'test.jp'],
    ['@test.jp:user@ext.jp', 'source-route', 'ext.jp'],
    ['<@a.test.jp,@b.test.jp:user@ext.jp>', 'source-route', 'ext.jp'],
    ['ext.jp!user@test.jp', 'bang-path', 'test.jp'],
    ['"ext.jp!user"@test.jp', 'bang-path', 'test.jp'],
    ['user:x@test.jp', 'colon', 'test.jp'],
    ['user@[192.0.2.1]', 'ip-literal', '[192.0.2.1]'],
    ['user@[IPv6:2001:db8::1]', 'ip-literal', '[ipv6:2001:db8::1]'],
  ])('%s is the relay form %s', (input, form, domain) => {
    const a = parseAddress(input);
    expect(a.error).toBeUndefined();
    expect(a.abuse).toBe(form);
    expect(a.domain).toBe(domain);
  });

  it.each([
    ['', 'empty address'],
    ['<>', 'empty address'],
    ['user@', 'empty domain'],
    ['@test.jp', 'source route without ":"'],
    ['us er@test.jp', 'invalid character in the local part'],
    ['user@te st.jp', 'invalid domain'],
    ['user@test..jp', 'invalid domain'],
    ['user@test.jp..', 'invalid domain'],
    ['user@-test.jp', 'invalid domain'],
    ['"unterminated@test.jp', 'unterminated quoted local part'],
    ['"a"b@test.jp', 'text after the quoted local part'],
    ['a\r\nRCPT TO:<x@y>@test.jp', 'control character in address'],
  ])('%j is refused: %s', (input, error) => {
    expect(parseAddress(input).error).toBe(error);
  });

  it('an address without a domain parses with domain empty', () => {
    const a = parseAddress('Postmaster');
    expect(a.error).toBeUndefined();
    expect([a.localKey, a.domain]).toEqual(['postmaster', '']);
  });
});

describe('domain helpers', () => {
  it('compares domains case- and trailing-dot-insensitively', () => {
    expect(normalizeDomain(' Test.JP. ')).toBe('test.jp');
    expect(isSameOrSubdomain('mx.abc.co.jp', 'abc.co.jp')).toBe(true);
    expect(isSameOrSubdomain('ABC.co.jp.', 'abc.co.jp')).toBe(true);
    expect(isSameOrSubdomain('xabc.co.jp', 'abc.co.jp')).toBe(false);
    expect(isSameOrSubdomain('', 'abc.co.jp')).toBe(false);
  });
});
