// Hot reload (SPEC 3): a change applies to new transactions without dropping connections; a
// broken file is not applied (the last good configuration stays, the error is traced); a file
// written in two halves is applied only whole; a listener change asks for a restart.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { crlf, eventually, runReceiver, session, type Running } from './helpers.js';

let r: Running;
beforeAll(async () => {
  r = await runReceiver({ effect: ['#<> default', '#blank false'] });
});
afterAll(async () => {
  await r?.stop();
});

async function mailFromCode(sender: string): Promise<number> {
  const c = await session(r.port);
  const code = (await c.cmd(`MAIL FROM:<${sender}>`)).code;
  c.close();
  return code;
}

describe('hot reload', () => {
  it('applies a change to new transactions; open connections stay, a started transaction keeps its snapshot', async () => {
    const open1 = await session(r.port);
    const started = await session(r.port);
    expect((await started.cmd('MAIL FROM:<a@ext.jp>')).code).toBe(250);

    await writeFile(join(r.workdir, 'effect.dat'), crlf(['#<> default', '#blank false', '*@spam.ext.jp false']));
    await writeFile(join(r.workdir, 'aliases.dat'), crlf(['sales@test.jp -> alice@test.jp']));
    await eventually(async () => (await mailFromCode('x@spam.ext.jp')) === 550, 10_000, 'the new effect.dat in force');

    // The connection opened before the reload is still there and its next transaction uses the new rules.
    expect((await open1.cmd('MAIL FROM:<x@spam.ext.jp>')).code).toBe(550);
    // The transaction begun before the reload finishes with the configuration it began with
    // (bob's alias still exists there), the next one uses the new one (User unknown).
    expect((await started.cmd('RCPT TO:<bob@test.jp>')).code).toBe(250);
    expect((await started.cmd('RSET')).code).toBe(250);
    expect((await started.cmd('MAIL FROM:<a@ext.jp>')).code).toBe(250);
    expect((await started.cmd('RCPT TO:<bob@test.jp>')).code).toBe(550);
    open1.close();
    started.close();
    expect(r.trace.join('\n')).toMatch(/configuration generation 2 applied/);
  });

  it('applies settings.json limits live', async () => {
    const path = join(r.workdir, 'settings.json');
    const s = JSON.parse(readFileSync(path, 'utf8'));
    s.receiver.maxMessageBytes = 4321;
    await writeFile(path, JSON.stringify(s, null, 2));
    await eventually(async () => {
      const c = await session(r.port);
      const ehlo = await c.cmd('EHLO again.ext.jp');
      c.close();
      return ehlo.lines.includes('250 SIZE 4321');
    }, 10_000, 'SIZE 4321 advertised');
  });

  it('keeps the last good configuration when a file is broken, and says why', async () => {
    await writeFile(join(r.workdir, 'effect.dat'), crlf(['#<> default', '*@spam.ext.jp sometimes']));
    await eventually(() => /configuration change not applied/.test(r.trace.join('\n')), 10_000, 'rejection traced');
    expect(r.trace.join('\n')).toMatch(/ {2}effect\.dat:2(:\d+)?: error: /);
    expect(r.warnings.join('\n')).toMatch(/^configuration change not applied, the last good configuration stays in force:\n {2}effect\.dat:2:\d+: error: "sometimes" is not an action/m);
    expect(await mailFromCode('x@spam.ext.jp')).toBe(550);
    expect(await mailFromCode('a@ext.jp')).toBe(250);
    // Repaired: applied again.
    const applied = r.trace.filter((l) => / applied \(/.test(l)).length;
    await writeFile(join(r.workdir, 'effect.dat'), crlf(['#<> default', '*@spam.ext.jp false', '*@other.ext.jp false']));
    await eventually(() => r.trace.filter((l) => / applied \(/.test(l)).length > applied, 10_000, 'repaired file applied');
    expect(await mailFromCode('x@other.ext.jp')).toBe(550);
  });

  it('a listener change is not applied live: the trace says a restart is needed', async () => {
    const path = join(r.workdir, 'settings.json');
    const s = JSON.parse(readFileSync(path, 'utf8'));
    s.receiver.ports = [r.port, 1];
    await writeFile(path, JSON.stringify(s, null, 2));
    await eventually(() => /listener settings changed \(ports .*\): restart the receiver/.test(r.trace.join('\n')), 10_000, 'restart note');
    expect(r.rx.ports).toEqual([r.port]);
    expect(r.warnings.some((w) => /^listener settings changed \(ports \[\d+\] -> \[\d+,1\]\): restart the receiver to apply them$/.test(w))).toBe(true);
    expect(await mailFromCode('a@ext.jp')).toBe(250);
  });

  it('a file written in two halves is applied only once complete', async () => {
    const rejectedBefore = r.trace.filter((l) => l.includes('configuration change not applied')).length;
    // The first half alone would be an error (`fal` is no action); whole, it refuses 127.0.0.1.
    const fh = await open(join(r.workdir, 'effect.dat'), 'w');
    await fh.write('#<> default\r\n127.0.0.1 fal');
    await new Promise((res) => setTimeout(res, 50));
    await fh.write('se\r\n');
    await fh.close();
    await eventually(async () => {
      try {
        const c = await session(r.port);
        c.close();
        return false;
      } catch (err) {
        return /554 5\.7\.1/.test(String(err)) || /banner 554/.test(String(err));
      }
    }, 10_000, 'connections from 127.0.0.1 refused');
    const rejectedAfter = r.trace.filter((l) => l.includes('configuration change not applied')).length;
    expect(rejectedAfter).toBe(rejectedBefore);
  });
});
