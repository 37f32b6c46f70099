// The ControlApi handlers on real files in a fresh work folder, with a real Supervisor whose
// "receiver" is a throwaway script that reads settings.json like the real one does.
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createControlApi } from '../../../services/control/handlers.js';
import { ControlError } from '../../../services/control/errors.js';
import type { ControlApi } from '../../../services/control/api.js';
import { Supervisor } from '../../../services/supervisor/index.js';
import { standInCommand, writeStandIn } from '../supervisor/helpers.js';
import { QueueWriter } from '../../../services/queue/writer.js';
import { copyFormat1Queue, FORMAT1_IDS } from '../queue/fixtures/format1.js';
import { claimMessage } from '../../../services/queue/claim.js';
import { readControl } from '../../../services/queue/store.js';
import { dayName } from '../../../services/logs/paths.js';

let workdir: string;
let supervisor: Supervisor;
let api: ControlApi;

// Prints the receiver ports it finds in settings.json, as the real receiver would listen on them;
// stops on the supervisor's `stop` line (writeStandIn), so no stop waits out the grace period.
const FAKE_RECEIVER = `
import { readFileSync } from 'node:fs';
const s = JSON.parse(readFileSync(process.argv[2] + '/settings.json', 'utf8'));
console.log('ready ports=' + s.receiver.ports.join(','));
setInterval(() => {}, 1000);
`;

beforeEach(async () => {
  workdir = await mkdtemp(join(tmpdir(), 'sekisho-ctl-'));
  await writeFile(join(workdir, 'settings.json'), JSON.stringify({ hostname: 'gw.test.jp', receiver: { ports: [2525] } }, null, 2));
  const script = await writeStandIn(workdir, 'fake-receiver', FAKE_RECEIVER);
  supervisor = new Supervisor({
    workdir,
    services: ['receiver'],
    commandFor: () => standInCommand(script, [workdir]),
    stopGraceMs: 2000,
  });
  api = createControlApi({ workdir, supervisor });
});

afterEach(async () => {
  await supervisor.close();
});

const cp932 = (text: string) => iconv.encode(text, 'cp932');

async function expectControlError(p: Promise<unknown>, status: number, text?: string | RegExp) {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ControlError);
  expect((err as ControlError).status).toBe(status);
  if (text) expect((err as Error).message).toMatch(text);
}

describe('tables', () => {
  it('reads a CP932 + CRLF table with fields and writes it back keeping encoding, EOL and comments', async () => {
    const original = cp932("' 営業部のエイリアス\r\nsales@test.jp -> bucho@test.jp, kacho@test.jp\r\n\r\nuser1@test.jp -> user1@test.jp\r\n");
    await writeFile(join(workdir, 'aliases.dat'), original);
    const view = await api.readTable('aliases');
    expect(view.format).toEqual({ encoding: 'cp932', eol: '\r\n', finalNewline: true });
    expect(view.lines.map((l) => l.kind)).toEqual(['comment', 'rule', 'blank', 'rule']);
    expect(view.lines[0].raw).toBe("' 営業部のエイリアス");
    expect(view.lines[1].fields).toEqual(['sales@test.jp', 'bucho@test.jp, kacho@test.jp']);
    expect(view.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);

    const lines = [...view.lines.map((l) => l.raw), "' 経理", 'keiri@test.jp -> keiri@test.jp'];
    const saved = await api.saveTable({ table: 'aliases', lines, baseVersion: view.version });
    expect(saved.ok).toBe(true);
    const bytes = await readFile(join(workdir, 'aliases.dat'));
    expect(bytes.subarray(0, original.length).equals(original)).toBe(true);
    expect(bytes.subarray(original.length).equals(cp932("' 経理\r\nkeiri@test.jp -> keiri@test.jp\r\n"))).toBe(true);
    const again = await api.readTable('aliases');
    expect(again.version).toBe((saved as { version: string }).version);
    expect(again.version).not.toBe(view.version);
  });

  it('answers conflict when the file changed on disk since it was read, and writes with force', async () => {
    await writeFile(join(workdir, 'gateway.dat'), 'test.jp, 192.168.0.10, 25\r\n');
    const view = await api.readTable('gateway');
    // Notepad saves meanwhile.
    await writeFile(join(workdir, 'gateway.dat'), 'test.jp, 192.168.0.11, 25\r\n');
    const r = await api.saveTable({ table: 'gateway', lines: ['test.jp, 192.168.0.12'], baseVersion: view.version });
    expect(r.ok).toBe(false);
    if (r.ok || r.reason !== 'conflict') throw new Error('expected a conflict');
    expect(r.current.lines[0].raw).toBe('test.jp, 192.168.0.11, 25');
    expect(await readFile(join(workdir, 'gateway.dat'), 'utf8')).toBe('test.jp, 192.168.0.11, 25\r\n');

    const forced = await api.saveTable({ table: 'gateway', lines: ['test.jp, 192.168.0.12'], baseVersion: view.version, force: true });
    expect(forced.ok).toBe(true);
    expect(await readFile(join(workdir, 'gateway.dat'), 'utf8')).toBe('test.jp, 192.168.0.12\r\n');
  });

  it('refuses invalid lines with file:line:column diagnostics and leaves the file alone', async () => {
    await writeFile(join(workdir, 'effect.dat'), '#<> default\r\n');
    const view = await api.readTable('effect');
    const lines = ['#<> default', '192.168.1.0/24 maybe', '10.0.0.1 true'];
    const diags = await api.validateTable('effect', lines);
    const errors = diags.filter((d) => d.severity === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ file: 'effect.dat', line: 2 });
    expect(errors[0].column).toBeGreaterThan(0);

    const r = await api.saveTable({ table: 'effect', lines, baseVersion: view.version });
    expect(r).toMatchObject({ ok: false, reason: 'invalid' });
    expect(await readFile(join(workdir, 'effect.dat'), 'utf8')).toBe('#<> default\r\n');
  });

  it('refuses a character the CP932 file cannot hold instead of writing "?"', async () => {
    await writeFile(join(workdir, 'domains.dat'), cp932("' ドメイン\r\ntest.jp\r\n"));
    const view = await api.readTable('domains');
    const r = await api.saveTable({ table: 'domains', lines: ["' ドメイン 🙂", 'test.jp'], baseVersion: view.version });
    expect(r).toMatchObject({ ok: false, reason: 'invalid' });
    if (r.ok || r.reason !== 'invalid') throw new Error('expected invalid');
    expect(r.diagnostics[0].message).toMatch(/Shift_JIS|CP932/);
  });

  it('includes the policy warnings of the file (mode A wildcard alias)', async () => {
    await writeFile(join(workdir, 'aliases.dat'), '*@test.jp -> *@test.jp\r\n');
    const view = await api.readTable('aliases');
    expect(view.diagnostics.some((d) => d.severity === 'warning' && d.code === 'alias.wildcard' && d.line === 1)).toBe(true);
    const diags = await api.validateTable('aliases', ['user1@test.jp -> user1@test.jp']);
    expect(diags).toEqual([]);
    expect((await api.warnings()).some((d) => d.code === 'alias.wildcard')).toBe(true);
  });

  it('imports aliases: one addr -> addr line per address not present yet', async () => {
    await writeFile(join(workdir, 'aliases.dat'), "' mode B\r\nUser1@test.jp -> user1@test.jp\r\n");
    const r = await api.importAliases(['user1@test.jp', ' user2@test.jp ', 'user2@test.jp', '', 'user3@test.jp']);
    expect(r.ok).toBe(true);
    expect(await readFile(join(workdir, 'aliases.dat'), 'utf8')).toBe(
      "' mode B\r\nUser1@test.jp -> user1@test.jp\r\nuser2@test.jp -> user2@test.jp\r\nuser3@test.jp -> user3@test.jp\r\n",
    );
    const bad = await api.importAliases(['not an address']);
    expect(bad).toMatchObject({ ok: false, reason: 'invalid' });
  });

  it('rejects an unknown table name', async () => {
    await expectControlError(api.readTable('passwd' as never), 400, /unknown table/);
  });
});

describe('settings', () => {
  it('refuses unknown keys and stale versions, writes valid settings', async () => {
    const { settings, version } = await api.readSettings();
    expect(settings.hostname).toBe('gw.test.jp');

    const unknown = await api.saveSettings({ ...settings, receiver: { ...settings.receiver, bogus: 1 } }, version);
    expect(unknown.ok).toBe(false);
    if (!unknown.ok) expect(unknown.issues).toContainEqual({ path: 'receiver.bogus', message: 'unknown key "bogus"' });

    const ok = await api.saveSettings({ ...settings, hostname: 'mx.test.jp' }, version);
    expect(ok.ok).toBe(true);
    expect(JSON.parse(await readFile(join(workdir, 'settings.json'), 'utf8')).hostname).toBe('mx.test.jp');

    const stale = await api.saveSettings({ ...settings, hostname: 'other.test.jp' }, version);
    expect(stale.ok).toBe(false);
    expect(JSON.parse(await readFile(join(workdir, 'settings.json'), 'utf8')).hostname).toBe('mx.test.jp');
  });

  it('restarts a running receiver when its ports change, and only then', async () => {
    const first = await api.startService('receiver');
    expect(first).toMatchObject({ state: 'running', ports: [2525] });
    let { settings, version } = await api.readSettings();

    const hostOnly = await api.saveSettings({ ...settings, hostname: 'mx.test.jp' }, version);
    expect(hostOnly.ok).toBe(true);
    expect(supervisor.status('receiver').pid).toBe(first.pid);

    ({ settings, version } = await api.readSettings());
    const ports = await api.saveSettings({ ...settings, receiver: { ...settings.receiver, ports: [2525, 20025] } }, version);
    expect(ports.ok).toBe(true);
    const after = supervisor.status('receiver');
    expect(after.state).toBe('running');
    expect(after.ports).toEqual([2525, 20025]);
    expect(after.pid).not.toBe(first.pid);
  });

  it('does not start a stopped receiver on a port change', async () => {
    const { settings, version } = await api.readSettings();
    await api.saveSettings({ ...settings, receiver: { ...settings.receiver, ports: [2626] } }, version);
    expect(supervisor.status('receiver').state).toBe('stopped');
  });
});

describe('accounts', () => {
  it('creates, lists, disables, re-passwords and deletes an account', async () => {
    await api.createAccount('postmaster', 's3cret!');
    await mkdir(join(workdir, 'inbox', 'kacho'), { recursive: true });
    await writeFile(join(workdir, 'inbox', 'kacho', 'usetime.dat'), "' office hours\r\nmon-fri 08:00-19:00\r\n");
    let list = await api.listAccounts();
    expect(list).toEqual([
      { user: 'kacho', hasPassword: false, passwordKind: null, sendingDisabled: false, usetime: ['mon-fri 08:00-19:00'], senderRules: [] },
      { user: 'postmaster', hasPassword: true, passwordKind: 'hashed', sendingDisabled: false, usetime: [], senderRules: [] },
    ]);
    const apop = await readFile(join(workdir, 'inbox', 'postmaster', 'apop.dat'), 'utf8');
    expect(apop).not.toContain('s3cret!');

    await api.setSendingDisabled('postmaster', true);
    expect(existsSync(join(workdir, 'inbox', 'postmaster', '$offsmtp'))).toBe(true);
    await api.setPassword('postmaster', 'other');
    expect(await readFile(join(workdir, 'inbox', 'postmaster', 'apop.dat'), 'utf8')).not.toBe(apop);
    list = await api.listAccounts();
    expect(list.find((a) => a.user === 'postmaster')?.sendingDisabled).toBe(true);

    // The CRAM-MD5 choice (RFC 2195 needs the password itself): stored as text, said so.
    await api.setPassword('postmaster', 'cram-pass', { reversible: true });
    expect(await readFile(join(workdir, 'inbox', 'postmaster', 'apop.dat'), 'utf8')).toContain('cram-pass');
    expect((await api.listAccounts()).find((a) => a.user === 'postmaster')?.passwordKind).toBe('plain');
    await api.createAccount('kakari', 'pw2', { reversible: true });
    expect((await api.listAccounts()).find((a) => a.user === 'kakari')?.passwordKind).toBe('plain');
    await api.setPassword('postmaster', 'hashed-again');
    expect((await api.listAccounts()).find((a) => a.user === 'postmaster')?.passwordKind).toBe('hashed');

    await expectControlError(api.createAccount('postmaster', 'x'), 409);
    await expectControlError(api.createAccount('../evil', 'x'), 400);
    await expectControlError(api.setPassword('nobody', 'x'), 404);
    await api.deleteAccount('postmaster');
    expect(existsSync(join(workdir, 'inbox', 'postmaster'))).toBe(false);
    await expectControlError(api.deleteAccount('postmaster'), 404);
  });
});

describe('queue', () => {
  async function queueOne(): Promise<string> {
    const writer = new QueueWriter(workdir);
    const msg = await writer.begin();
    await msg.write(Buffer.from('Subject: test\r\n\r\nhello\r\n'));
    const now = new Date().toISOString();
    return msg.commit({
      from: 'sender@example.jp',
      recipients: [
        { address: 'a@test.jp', original: 'a@test.jp', kind: 'remote', status: 'pending', attempts: 1, refusals: 0, lastReply: '421 busy' },
        { address: 'b@test.jp', original: 'b@test.jp', kind: 'remote', status: 'delivered', attempts: 1, refusals: 0 },
      ],
      receivedAt: now,
      nextAttemptAt: new Date(Date.now() + 3600_000).toISOString(),
      retries: 1,
      client: { ip: '192.0.2.1', helo: 'client', authUser: '' },
      origin: 'message',
    });
  }

  it('lists, retries now, refuses to delete while claimed, deletes', async () => {
    const id = await queueOne();
    const list = await api.listQueue();
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ id, from: 'sender@example.jp', locked: false });

    const before = Date.now();
    await api.retryNow(id);
    expect(Date.parse((await readControl(workdir, id)).nextAttemptAt)).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse((await readControl(workdir, id)).nextAttemptAt)).toBeLessThanOrEqual(Date.now());

    const claim = await claimMessage(workdir, id);
    expect(claim).not.toBeNull();
    expect((await api.listQueue())[0].locked).toBe(true);
    await expectControlError(api.deleteMessage(id), 409, /being delivered/);
    await claim!.release();

    await api.deleteMessage(id);
    expect(await api.listQueue()).toEqual([]);
    await expectControlError(api.deleteMessage(id), 404);
    await expectControlError(api.retryNow('../../etc/passwd'), 400);
  });

  it('lists, retries, bounces and deletes messages queued in format 1 before the upgrade', async () => {
    const [a, b] = FORMAT1_IDS;
    await copyFormat1Queue(workdir);
    const fresh = await queueOne();
    const list = await api.listQueue();
    expect(list.map((e) => [e.id, e.format])).toEqual([[a, 'sekisho-queue/1'], [b, 'sekisho-queue/1'], [fresh, 'sekisho-queue/2']]);
    expect(list[1].recipients.map((r) => r.status)).toEqual(['delivered', 'pending']);
    await api.retryNow(a);
    expect(Date.parse((await readControl(workdir, a)).nextAttemptAt)).toBeLessThanOrEqual(Date.now());
    expect((await readControl(workdir, a)).format).toBe('sekisho-queue/1'); // updated in place, not converted
    await api.bounceMessage(b);
    expect(((await readControl(workdir, b)) as unknown as { bounceNow?: string }).bounceNow).toBe('deleted by administrator');
    await api.deleteMessage(a);
    expect(existsSync(join(workdir, 'incoming', `${a}.MSG`))).toBe(false);
    expect((await api.listQueue()).map((e) => e.id)).toEqual([b, fresh]);
  });

  it('marks a message for an administrator bounce of its pending recipients', async () => {
    const id = await queueOne();
    await api.bounceMessage(id);
    const record = (await readControl(workdir, id)) as unknown as { bounceNow?: string; nextAttemptAt: string };
    expect(record.bounceNow).toBe('deleted by administrator');
    expect(Date.parse(record.nextAttemptAt)).toBeLessThanOrEqual(Date.now());
  });
});

describe('logs, explain, tls, version', () => {
  it('reads a day of a log', async () => {
    const day = dayName(new Date());
    await mkdir(join(workdir, 'log', 'accept'), { recursive: true });
    await writeFile(join(workdir, 'log', 'accept', `${day}.log`), 'line one B0000000001\nline two\n');
    const lines = await api.readLog({ kind: 'accept' });
    expect(lines.map((l) => l.text)).toEqual(['line one B0000000001', 'line two']);
    await expectControlError(api.readLog({ kind: 'secret' as never }), 400);
  });

  it('searches the logs together, counts the day and tells errors from warnings', async () => {
    const day = dayName(new Date());
    for (const k of ['receive', 'sender']) await mkdir(join(workdir, 'log', k), { recursive: true });
    const d = new Date();
    const hh = String(d.getHours()).padStart(2, '0');
    await writeFile(join(workdir, 'log', 'sender', `${day}.log`), `[${hh}:00:00:000] [B0000000001] <a@example.jp> failed host=h:25: 550 no\n`);
    await writeFile(join(workdir, 'log', 'receive', `${day}.log`), `[01/Jan/2026:${hh}:00:00], c1, < RCPT TO:<a@example.jp>\n`);
    const hits = await api.searchLogs({ text: 'A@example.jp' });
    expect(hits.map((h) => h.kind)).toEqual(['receive', 'sender']);
    await expectControlError(api.searchLogs({ text: '' }), 400);
    await expectControlError(api.searchLogs({ text: 'x', kinds: ['secret' as never] }), 400);

    // A broken gateway.dat: one error, apart from the warnings, and among the last errors.
    await writeFile(join(workdir, 'gateway.dat'), 'example.jp, 999.1.1.1\r\n');
    const health = await api.configHealth();
    expect(health.errors.map((e) => [e.file, e.line])).toEqual([['gateway.dat', 1]]);
    expect(health.warnings.every((w) => w.severity !== 'error')).toBe(true);
    const stats = await api.trafficStats();
    expect(stats.day).toBe(day);
    expect(stats.totals.bounced).toBe(1);
    expect(stats.hours[d.getHours()].bounced).toBe(1);
    expect(stats.lastErrors.map((e) => e.source).sort()).toEqual(['config', 'delivery']);
    expect(stats.lastErrors.find((e) => e.source === 'config')!.text).toMatch(/^gateway\.dat:1:\d+ /);
    expect(stats.lastErrors.find((e) => e.source === 'config')!.diagnostic).toMatchObject({ file: 'gateway.dat', code: 'gateway.bad-host' });
    await expectControlError(api.trafficStats('26-12-05'), 400);
    await expectControlError(api.trafficStats('261399'), 400);
    // Asked again after more lines: the kept counter reads only what was appended.
    await writeFile(join(workdir, 'log', 'sender', `${day}.log`), `[${hh}:00:01:000] [B0000000002] <b@example.jp> delivered host=h:25: 250 ok\n`, { flag: 'a' });
    expect((await api.trafficStats()).totals).toMatchObject({ delivered: 1, bounced: 1 });
  });

  it('explains a decision with the rule that made it', async () => {
    await writeFile(join(workdir, 'domains.dat'), 'test.jp\r\n');
    await writeFile(join(workdir, 'aliases.dat'), 'user1@test.jp -> user1@test.jp\r\n');
    await writeFile(join(workdir, 'effect.dat'), '#<> default\r\n192.168.0.0/16 true\r\n');
    const r = await api.explain({ client: '203.0.113.5', from: 'x@example.com', to: ['user1@test.jp', 'nobody@test.jp'] });
    expect(r.recipients.map((x) => x.accept)).toEqual([true, false]);
    expect(r.recipients[1].reply).toMatch(/^550 5\.1\.1/);
    expect(r.recipients[0].rule).toBe('aliases.dat:1');

    await writeFile(join(workdir, 'effect.dat'), '192.168.0.0/16 maybe\r\n');
    await expectControlError(api.explain({ client: '203.0.113.5', from: 'x@example.com', to: ['user1@test.jp'] }), 400, /effect\.dat:1/);
  });

  it('reports the certificate subject and expiry, and a key that does not match', async () => {
    const gen = (name: string, cn: string) =>
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '30', '-subj', `/CN=${cn}`,
        '-keyout', join(workdir, `${name}.key`), '-out', join(workdir, `${name}.crt`)], { stdio: 'ignore' });
    gen('gw', 'gw.test.jp');
    gen('other', 'other.test.jp');
    const { settings, version } = await api.readSettings();
    expect(await api.tlsInfo()).toEqual({ cert: '', key: '' });
    await api.saveSettings({ ...settings, tls: { cert: 'gw.crt', key: join(workdir, 'gw.key') } }, version);
    const info = await api.tlsInfo();
    expect(info.subject).toBe('CN=gw.test.jp');
    expect(Date.parse(info.validTo!)).toBeGreaterThan(Date.now() + 29 * 86400_000);
    expect(info.error).toBeUndefined();

    const v2 = (await api.readSettings()).version;
    await api.saveSettings({ ...settings, tls: { cert: 'gw.crt', key: 'other.key' } }, v2);
    expect((await api.tlsInfo()).error).toBe('the key does not belong to the certificate');
  });

  it('says which version runs on which work folder', async () => {
    const v = await api.version();
    expect(v.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(v.node).toBe(process.versions.node);
    expect(v.workdir).toBe(workdir);
  });
});

describe('services', () => {
  it('starts, restarts in debug mode, stops, and keeps the debug output', async () => {
    expect((await api.serviceStatus())[0].state).toBe('stopped');
    const st = await api.startService('receiver');
    expect(st.state).toBe('running');
    const dbg = await api.restartService('receiver', { debug: true });
    expect(dbg.debug).toBe(true);
    expect(dbg.pid).not.toBe(st.pid);
    expect(await api.debugOutput('receiver')).toContain('ready ports=2525');
    const stopped = await api.stopService('receiver');
    expect(stopped.state).toBe('stopped');
    // Stopped by the protocol (the `stop` line, exit 0), not killed at the end of the grace.
    expect(stopped.lastExit).toMatchObject({ code: 0, signal: null });
    expect(stopped.lastExit!.reason).not.toMatch(/killed/);
    await expectControlError(api.startService('sendmail' as never), 400);
  });
});
