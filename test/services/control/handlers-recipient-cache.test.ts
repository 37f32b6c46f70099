// The control API over verify-cache.json (issue 15) with a real receiver and a real internal
// server: list what the receiver learnt, clear one or all, and the receiver asks again.
import { afterEach, describe, expect, it } from 'vitest';
import { createControlApi } from '../../../services/control/handlers.js';
import { Supervisor } from '../../../services/supervisor/index.js';
import { runReceiver, session, type Running } from '../receiver/helpers.js';
import { until } from '../delivery/helpers/workdir.js';
import { startInternalServer } from '../../e2e/helpers/internal-server.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

describe('listRecipientCache / clearRecipientCache', () => {
  it('lists the answers the receiver wrote; a clear reaches the running receiver, which asks again', async () => {
    const srv = await startInternalServer({ users: ['taro@corp.jp'] });
    cleanups.push(() => srv.close());
    const r: Running = await runReceiver({
      gateway: [`corp.jp, 127.0.0.1, ${srv.port}`],
      aliases: ['*@corp.jp -> *@corp.jp'],
      settings: (s) => (s.recipientCheck.domains = ['corp.jp']),
    });
    cleanups.push(() => r.stop());
    const supervisor = new Supervisor({ workdir: r.workdir, services: [], commandFor: () => ({ command: process.execPath, args: [] }) });
    cleanups.push(() => supervisor.close());
    const api = createControlApi({ workdir: r.workdir, supervisor });

    const c = await session(r.port);
    cleanups.push(async () => c.close());
    expect((await c.cmd('MAIL FROM:<a@ext.jp>')).code).toBe(250);
    expect((await c.cmd('RCPT TO:<taro@corp.jp>')).code).toBe(250);
    expect((await c.cmd('RCPT TO:<ghost@corp.jp>')).code).toBe(550);
    // The receiver writes its answers within a few seconds.
    const listed = await until(async () => {
      const l = await api.listRecipientCache();
      return l.length === 2 ? l : null;
    }, 10_000, 'the answers in verify-cache.json');
    const ghost = listed!.find((e) => e.address === 'ghost@corp.jp')!;
    expect(ghost).toMatchObject({ answer: 'unknown', host: `127.0.0.1:${srv.port}`, fresh: true });
    expect(ghost.reply).toMatch(/^550 .*mailbox unavailable/);
    expect(Number.isNaN(Date.parse(ghost.at))).toBe(false);

    expect(await api.clearRecipientCache('GHOST@corp.jp')).toEqual({ removed: 1 });
    expect((await api.listRecipientCache()).map((e) => e.address)).toEqual(['taro@corp.jp']);
    await until(async () => {
      expect((await c.cmd('RCPT TO:<ghost@corp.jp>')).code).toBe(550);
      return srv.rcpts.length === 3;
    }, 15_000, 'ghost asked again after the clear');
    // The new answer is learnt after the clear, so it stays.
    await until(async () => (await api.listRecipientCache()).length === 2, 10_000, 'the new answer written');

    expect(await api.clearRecipientCache()).toEqual({ removed: 2 });
    expect(await api.listRecipientCache()).toEqual([]);
    await until(async () => {
      expect((await c.cmd('RCPT TO:<taro@corp.jp>')).code).toBe(250);
      return srv.rcpts.filter((a) => a === 'taro@corp.jp').length === 2;
    }, 15_000, 'taro asked again after clear all');
  }, 60_000);
});
