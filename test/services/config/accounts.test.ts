import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import {
  AccountError,
  createAccount,
  deleteAccount,
  readAccounts,
  setAccountPassword,
  setSendingDisabled,
  verifyPassword,
  verifyPasswordAsync,
  userNameProblem,
} from '../../../services/config/accounts.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sekisho-accounts-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function put(user: string, file: string, content: string | Buffer) {
  await mkdir(join(dir, 'inbox', user), { recursive: true });
  await writeFile(join(dir, 'inbox', user, file), content);
}

describe('passwords', () => {
  it('setAccountPassword writes $scrypt$salt$hash, and verifyPassword checks it', async () => {
    await createAccount(dir, 'Bucho', 'kanri-2026');
    const line = (await readFile(join(dir, 'inbox', 'bucho', 'apop.dat'), 'utf8')).trimEnd();
    expect(line).toMatch(/^\$scrypt\$[A-Za-z0-9+/]+=*\$[A-Za-z0-9+/]+=*$/);
    expect(line).not.toContain('kanri-2026');
    const { accounts, diagnostics } = await readAccounts(dir);
    expect(diagnostics).toEqual([]);
    const pw = accounts.get('bucho')!.password!;
    expect(pw.kind).toBe('scrypt');
    expect(verifyPassword(pw, 'kanri-2026')).toBe(true);
    expect(verifyPassword(pw, 'kanri-2025')).toBe(false);
    expect(await verifyPasswordAsync(pw, 'kanri-2026')).toBe(true);
    expect(await verifyPasswordAsync(pw, '')).toBe(false);

    await setAccountPassword(dir, 'bucho', 'new-one');
    const again = (await readAccounts(dir)).accounts.get('bucho')!.password!;
    expect(verifyPassword(again, 'kanri-2026')).toBe(false);
    expect(verifyPassword(again, 'new-one')).toBe(true);
  });

  it('a plain apop.dat (CRAM-MD5 compatible) is read as is', async () => {
    await put('kacho', 'apop.dat', 'p@ss word\r\nsecond line ignored\r\n');
    const pw = (await readAccounts(dir)).accounts.get('kacho')!.password!;
    expect(pw).toEqual({ kind: 'plain', value: 'p@ss word' });
    expect(verifyPassword(pw, 'p@ss word')).toBe(true);
    expect(verifyPassword(pw, 'p@ss wor')).toBe(false);
    expect(verifyPassword(pw, 'p@ss word ')).toBe(false);
    await setAccountPassword(dir, 'kacho', 'plain-again', { plain: true });
    expect(await readFile(join(dir, 'inbox', 'kacho', 'apop.dat'), 'utf8')).toBe('plain-again\r\n');
  });

  it('an empty or malformed apop.dat is an error naming the file', async () => {
    await put('a', 'apop.dat', '');
    await put('b', 'apop.dat', '$scrypt$onlysalt\r\n');
    const { diagnostics } = await readAccounts(dir);
    expect(diagnostics).toEqual([
      expect.objectContaining({ file: 'inbox/a/apop.dat', line: 1, code: 'account.empty-password', severity: 'error' }),
      expect.objectContaining({ file: 'inbox/b/apop.dat', line: 1, code: 'account.bad-hash', severity: 'error' }),
    ]);
  });
});

describe('account folders', () => {
  it('reads $offsmtp, usetime.dat and sender.dat', async () => {
    await put('user1', 'apop.dat', 'x\r\n');
    await put('user1', '$offsmtp', '');
    await put('user1', 'usetime.dat', iconv.encode("' 平日の勤務時間\r\n08:00-18:00\r\nmon-fri 08:30 - 17:15\r\nsat,sun 10:00-12:00\r\nfri-mon 22:00-06:00\r\n", 'cp932'));
    await put('user1', 'sender.dat', "' 社外へは送らない\n*@test.jp,0\nBoss@Partner.co.jp , 0\nFriend.JP,0\n*,-1\n");
    const { accounts, diagnostics } = await readAccounts(dir);
    expect(diagnostics).toEqual([]);
    const a = accounts.get('user1')!;
    expect(a.sendingDisabled).toBe(true);
    expect(a.usetime.map((w) => [w.days, w.start, w.end, w.ref.line])).toEqual([
      [[0, 1, 2, 3, 4, 5, 6], 480, 1080, 2],
      [[1, 2, 3, 4, 5], 510, 1035, 3],
      [[0, 6], 600, 720, 4],
      [[0, 1, 5, 6], 1320, 360, 5],
    ]);
    expect(a.usetime[0].ref.file).toBe('inbox/user1/usetime.dat');
    expect(a.senderRules.map((r) => [r.pattern, r.allow, r.ref.line])).toEqual([
      ['*@test.jp', true, 2],
      ['boss@partner.co.jp', true, 3],
      ['*@friend.jp', true, 4],
      ['*', false, 5],
    ]);
  });

  it('an account without apop.dat has no password and no limits', async () => {
    await mkdir(join(dir, 'inbox', 'nopw'), { recursive: true });
    const a = (await readAccounts(dir)).accounts.get('nopw')!;
    expect(a).toEqual({ user: 'nopw', sendingDisabled: false, usetime: [], senderRules: [] });
  });

  it.each([
    ['usetime.dat', '8:00-18:00\r\nmon-fry 08:00-18:00\r\n', { line: 2, column: 1, code: 'usetime.bad-days' }],
    ['usetime.dat', 'mon-fri 08:00-25:00\r\n', { line: 1, column: 15, code: 'usetime.bad-time' }],
    ['usetime.dat', '  08:60-18:00\r\n', { line: 1, column: 3, code: 'usetime.bad-time' }],
    ['usetime.dat', 'always\r\n', { line: 1, column: 1, code: 'usetime.bad-line' }],
    ['usetime.dat', '09:00-09:00\r\n', { line: 1, column: 1, code: 'usetime.empty-window' }],
    ['sender.dat', '*@test.jp\r\n', { line: 1, column: 10, code: 'sender.missing-code' }],
    ['sender.dat', '*@test.jp,1\r\n', { line: 1, column: 11, code: 'sender.bad-code' }],
    ['sender.dat', 'test..jp,-1\r\n', { line: 1, column: 1, code: 'sender.bad-pattern' }],
    ['sender.dat', '  us%er@test.jp,0\r\n', { line: 1, column: 3, code: 'sender.bad-pattern' }],
  ])('%s %j -> %j', async (file, content, expected) => {
    await put('u', file, content);
    const { diagnostics } = await readAccounts(dir);
    expect(diagnostics).toEqual([expect.objectContaining({ file: `inbox/u/${file}`, severity: 'error', ...expected })]);
  });

  it('a folder that is not a valid user name is skipped with a warning', async () => {
    await mkdir(join(dir, 'inbox', 'bad name'), { recursive: true });
    const { accounts, diagnostics } = await readAccounts(dir);
    expect(accounts.size).toBe(0);
    expect(diagnostics).toEqual([expect.objectContaining({ file: 'inbox/bad name', severity: 'warning', code: 'account.bad-name' })]);
  });

  it('validates user names (no path traversal)', async () => {
    for (const bad of ['..', '../etc', 'a/b', 'a\\b', '', '.hidden', 'con', 'ユーザー', 'a b']) {
      expect(userNameProblem(bad), bad).not.toBeNull();
      await expect(createAccount(dir, bad, 'pw')).rejects.toBeInstanceOf(AccountError);
    }
    for (const good of ['postmaster', 'user.name', 'a_b-c', 'User1']) expect(userNameProblem(good)).toBeNull();
    expect(existsSync(join(dir, 'etc'))).toBe(false);
  });

  it('create refuses an existing account and an empty password', async () => {
    await createAccount(dir, 'postmaster', 'pw');
    await expect(createAccount(dir, 'POSTMASTER', 'pw2')).rejects.toMatchObject({ code: 'exists' });
    await expect(createAccount(dir, 'other', '')).rejects.toMatchObject({ code: 'empty-password' });
    await expect(setAccountPassword(dir, 'nobody', 'pw')).rejects.toMatchObject({ code: 'not-found' });
  });

  it('setSendingDisabled creates and removes $offsmtp', async () => {
    await createAccount(dir, 'u', 'pw');
    await setSendingDisabled(dir, 'u', true);
    expect(existsSync(join(dir, 'inbox', 'u', '$offsmtp'))).toBe(true);
    expect((await readAccounts(dir)).accounts.get('u')!.sendingDisabled).toBe(true);
    await setSendingDisabled(dir, 'u', false);
    await setSendingDisabled(dir, 'u', false);
    expect(existsSync(join(dir, 'inbox', 'u', '$offsmtp'))).toBe(false);
  });

  it('deleteAccount refuses while delivered mail is there unless forced', async () => {
    await createAccount(dir, 'u', 'pw');
    await writeFile(join(dir, 'inbox', 'u', 'B0000000001.MSG'), 'mail');
    await expect(deleteAccount(dir, 'u')).rejects.toMatchObject({ code: 'has-mail' });
    expect(existsSync(join(dir, 'inbox', 'u', 'apop.dat'))).toBe(true);
    await deleteAccount(dir, 'u', { force: true });
    expect(await readdir(join(dir, 'inbox'))).toEqual([]);
    await createAccount(dir, 'v', 'pw');
    await deleteAccount(dir, 'v');
    expect(await readdir(join(dir, 'inbox'))).toEqual([]);
  });
});
