// Every kind of broken line: the error names file, 1-based line, 1-based column of the
// offending token, and a stable code.
import { describe, expect, it } from 'vitest';
import { parseTable, tableErrors, tableRules } from '../../../../services/config/tables.js';
import type { TableName } from '../../../../services/config/types.js';

/** The single error of a one-line table placed at line 3 (after a comment and a blank line). */
function errorOf(name: TableName, line: string) {
  const doc = parseTable(name, `' header\r\n\r\n${line}\r\n`);
  const errors = tableErrors(doc);
  expect(errors, `expected one error for ${JSON.stringify(line)}`).toHaveLength(1);
  const e = errors[0];
  expect(e.line).toBe(3);
  expect(e.severity).toBe('error');
  expect(e.message.length).toBeGreaterThan(10);
  return { file: e.file, column: e.column, code: e.code };
}

describe('gateway.dat', () => {
  it('parses domain, host and optional port, spaces around commas, wildcard, IPv6', () => {
    const rules = tableRules(parseTable('gateway', 'Test.JP, 192.168.0.10, 25\ntest.jp,192.168.0.11\n*.branch.test.jp ,  mx.branch.test.jp , 20025\nv6.jp, [2001:db8::1]\nlan.jp, mailsv'));
    expect(rules.map((r) => [r.domain, r.host, r.port])).toEqual([
      ['test.jp', '192.168.0.10', 25],
      ['test.jp', '192.168.0.11', 25],
      ['*.branch.test.jp', 'mx.branch.test.jp', 20025],
      ['v6.jp', '2001:db8::1', 25],
      ['lan.jp', 'mailsv', 25],
    ]);
  });

  it.each([
    ['test.jp, 192.168.0.10, 99999', 24, 'gateway.bad-port'],
    ['test.jp, 192.168.0.10, 25x', 24, 'gateway.bad-port'],
    ['test.jp, 192.168.0.10, 0', 24, 'gateway.bad-port'],
    ['test.jp', 8, 'gateway.missing-host'],
    ['test.jp 192.168.0.10', 8, 'gateway.missing-comma'],
    ['test.jp, 192.168.0.10, 25, x', 28, 'gateway.extra-field'],
    ['test_jp.co, 1.2.3.4', 1, 'gateway.bad-domain'],
    ['foo.*.jp, 1.2.3.4', 1, 'gateway.bad-domain'],
    ['test.jp, 192.168.0.256', 10, 'gateway.bad-host'],
    ['test.jp, mx.test.jp:25', 10, 'gateway.bad-host'],
    ['test.jp, , 25', 10, 'gateway.bad-host'],
    ['test.jp, 1.2.3.4,', 18, 'gateway.bad-port'],
  ])('%s -> column %i %s', (line, column, code) => {
    expect(errorOf('gateway', line)).toEqual({ file: 'gateway.dat', column, code });
  });
});

describe('effect.dat', () => {
  it('parses every pattern kind and every action, case-insensitively', () => {
    const doc = parseTable(
      'effect',
      [
        '#<> default',
        '#< DEFAULT',
        '#blank false',
        '192.168.*.*\tONLY',
        '*.*.*.*  norelay',
        '192.168.1.0/28 norelay,2',
        '2001:db8::/32 norelay, 0',
        '::1 true',
        '192.168.0.5',
        'Abc.Co.JP false',
        '*@abc.co.jp default',
        'User@abc.co.jp true',
      ].join('\r\n'),
    );
    expect(tableErrors(doc)).toEqual([]);
    expect(tableRules(doc).map((r) => [r.pattern, r.action, r.implicitAction])).toEqual([
      [{ kind: 'null-sender' }, 'default', false],
      [{ kind: 'null-sender' }, 'default', false],
      [{ kind: 'blank-sender' }, 'false', false],
      [{ kind: 'ipv4-wildcard', octets: [192, 168, '*', '*'] }, 'only', false],
      [{ kind: 'ipv4-wildcard', octets: ['*', '*', '*', '*'] }, 'norelay', false],
      [{ kind: 'cidr', family: 4, address: '192.168.1.0', prefix: 28 }, 'norelay,2', false],
      [{ kind: 'cidr', family: 6, address: '2001:db8::', prefix: 32 }, 'norelay,0', false],
      [{ kind: 'cidr', family: 6, address: '::1', prefix: 128 }, 'true', false],
      [{ kind: 'cidr', family: 4, address: '192.168.0.5', prefix: 32 }, 'true', true],
      [{ kind: 'domain', domain: 'abc.co.jp' }, 'false', false],
      [{ kind: 'sender', local: '*', domain: 'abc.co.jp' }, 'default', false],
      [{ kind: 'sender', local: 'user', domain: 'abc.co.jp' }, 'true', false],
    ]);
  });

  it.each([
    ['192.168.0.1 truee', 13, 'effect.bad-action'],
    ['192.168.0.1 none', 13, 'effect.bad-action'],
    ['192.168.0.1 norelay,3', 13, 'effect.bad-action'],
    ['  10.0.0.1\tdefault   extra', 22, 'effect.extra-field'],
    ["10.0.0.1 true ' trailing comment", 15, 'effect.trailing-comment'],
    ['192.168.1 true', 1, 'effect.bad-pattern'],
    ['192.168.*', 1, 'effect.bad-pattern'],
    ['192.168.1*.*', 1, 'effect.bad-pattern'],
    ['192.168.0.0/33 true', 1, 'effect.bad-pattern'],
    ['::1/129', 1, 'effect.bad-pattern'],
    ['fe80::1%eth0 true', 1, 'effect.bad-pattern'],
    ['300.1.1.1 false', 1, 'effect.bad-pattern'],
    ['#nobody false', 1, 'effect.bad-pattern'],
    ['*.abc.co.jp false', 1, 'effect.bad-pattern'],
    ['user@ false', 1, 'effect.bad-pattern'],
    ['us%er@abc.co.jp false', 1, 'effect.bad-pattern'],
    ['   abc..jp', 4, 'effect.bad-pattern'],
  ])('%s -> column %i %s', (line, column, code) => {
    expect(errorOf('effect', line)).toEqual({ file: 'effect.dat', column, code });
  });
});

describe('aliases.dat', () => {
  it('parses aliases, several targets and the * pass-through', () => {
    const rules = tableRules(parseTable('aliases', '*@Test.jp -> *@test.jp\nSales@test.jp -> bucho@test.jp,kacho@test.jp\nuser1@test.co.jp->user1@test.co.jp'));
    expect(rules.map((r) => [r.alias, r.targets])).toEqual([
      [{ local: '*', domain: 'test.jp' }, [{ local: '*', domain: 'test.jp' }]],
      [{ local: 'sales', domain: 'test.jp' }, [{ local: 'bucho', domain: 'test.jp' }, { local: 'kacho', domain: 'test.jp' }]],
      [{ local: 'user1', domain: 'test.co.jp' }, [{ local: 'user1', domain: 'test.co.jp' }]],
    ]);
  });

  it.each([
    ['sales@test.jp bucho@test.jp', 1, 'alias.missing-arrow'],
    ['  sales@test.jp => bucho@test.jp', 3, 'alias.missing-arrow'],
    ['a@test.jp -> b@test.jp -> c@test.jp', 24, 'alias.extra-arrow'],
    ['sales@test.jp ->', 17, 'alias.missing-target'],
    ['sales -> bucho@test.jp', 1, 'alias.bad-address'],
    ['sales@test.jp -> bucho@test.jp, kacho', 33, 'alias.bad-address'],
    ['sales@test.jp -> bucho@test..jp', 24, 'alias.bad-address'],
    ['sales@test.jp -> bucho@test.jp kacho@test.jp', 31, 'alias.bad-address'],
    ['*@test.jp -> bucho@test.jp', 14, 'alias.wildcard-mismatch'],
    ['sales@test.jp -> *@test.jp', 18, 'alias.wildcard-mismatch'],
    ['a!b@test.jp -> b@test.jp', 1, 'alias.bad-address'],
    ['a@test.jp, b@test.jp -> c@test.jp', 12, 'alias.bad-address'],
  ])('%s -> column %i %s', (line, column, code) => {
    expect(errorOf('aliases', line)).toEqual({ file: 'aliases.dat', column, code });
  });
});

describe('domains.dat', () => {
  it('lower-cases, and stores Japanese domain names in their xn-- form', () => {
    expect(tableRules(parseTable('domains', 'TEST.jp\r\nexample.co.jp.\r\n日本語.jp')).map((r) => r.domain)).toEqual(['test.jp', 'example.co.jp', 'xn--wgv71a119e.jp']);
  });

  it.each([
    ['bad_domain.jp', 1, 'domains.bad-domain'],
    ['  *.test.jp', 3, 'domains.bad-domain'],
    ['localdomain', 1, 'domains.bad-domain'],
    ['test.jp other.jp', 9, 'domains.extra-field'],
    ['-test.jp', 1, 'domains.bad-domain'],
  ])('%s -> column %i %s', (line, column, code) => {
    expect(errorOf('domains', line)).toEqual({ file: 'domains.dat', column, code });
  });
});

describe('every error of a line, and comments after a rule (issue 13)', () => {
  const all = (name: TableName, line: string) => tableErrors(parseTable(name, `${line}\r\n`)).map((e) => [e.column, e.code]);

  it('reports the pattern and the action of a bad effect.dat line together', () => {
    expect(all('effect', '999.1.1.1 maybe')).toEqual([
      [1, 'effect.bad-pattern'],
      [11, 'effect.bad-action'],
    ]);
    expect(all('effect', '999.1.1.1 maybe more')).toEqual([
      [1, 'effect.bad-pattern'],
      [11, 'effect.bad-action'],
      [17, 'effect.extra-field'],
    ]);
  });

  it('reports domain, host and port of a gateway.dat line together', () => {
    expect(all('gateway', 'test_jp, 999.1.1.1, 0')).toEqual([
      [1, 'gateway.bad-domain'],
      [10, 'gateway.bad-host'],
      [21, 'gateway.bad-port'],
    ]);
  });

  it('reports each bad address of an aliases.dat line, and a bad domain with an extra field', () => {
    expect(all('aliases', 'bad address@test.jp -> ok@test.jp, no-at, x@@y.jp')).toEqual([
      [4, 'alias.bad-address'],
      [36, 'alias.bad-address'],
      [43, 'alias.bad-address'],
    ]);
    expect(all('domains', 'test_jp extra')).toEqual([
      [1, 'domains.bad-domain'],
      [9, 'domains.extra-field'],
    ]);
  });

  it("says 'comments go on their own line' for a comment after a rule, with the rule's own errors", () => {
    const doc = parseTable('gateway', "test.jp, 1.2.3.4 ' head office\r\n");
    const errs = tableErrors(doc);
    expect(errs.map((e) => [e.line, e.column, e.code])).toEqual([[1, 18, 'gateway.trailing-comment']]);
    expect(errs[0].message).toMatch(/^comments go on their own line/);
    expect(doc.lines[0].kind).toBe('error');
    expect(all('gateway', "test.jp, 999.1.1.1 ' x")).toEqual([
      [10, 'gateway.bad-host'],
      [20, 'gateway.trailing-comment'],
    ]);
    expect(all('effect', "192.168.0.0/16 true\u3000' LAN")).toEqual([[21, 'effect.trailing-comment']]);
    expect(all('aliases', "info@test.jp -> taro@test.jp ' sales")).toEqual([[30, 'alias.trailing-comment']]);
    expect(all('domains', "test.jp ' ours")).toEqual([[9, 'domains.trailing-comment']]);
    // An apostrophe inside an address (RFC 5322 atext) is no comment.
    expect(all('aliases', "o'brien@test.jp -> o'brien@test.jp")).toEqual([]);
  });
});
