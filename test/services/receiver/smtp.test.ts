// The smtp-server subclass on its own, with plain handlers: replies carrying their enhanced
// code go out verbatim, library texts we reword, a command before the greeting is held when
// greetPauseMs is 0 (no early-talker test) and refused when it is not.
import { describe, it, expect, afterEach } from 'vitest';
import type { SMTPServerOptions } from 'smtp-server';
import { SekishoServer, type ConnectionHooks } from '../../../services/receiver/smtp.js';
import { Client } from './helpers.js';

const hooks: ConnectionHooks = {
  created: () => {},
  ehloFeatures: (_c, f) => f,
  authGate: () => null,
  verify: async () => ({ code: 252, lines: ['2.1.5 maybe'] }),
};

const servers: SekishoServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise<void>((r) => s.close(() => r()));
});

async function serve(options: Partial<SMTPServerOptions> & { greetPauseMs?: number }): Promise<number> {
  const server = new SekishoServer(
    {
      logger: false,
      disableReverseLookup: true,
      hideSTARTTLS: true,
      disabledCommands: ['STARTTLS'],
      authOptional: true,
      hideENHANCEDSTATUSCODES: false,
      closeTimeout: 100,
      ...options,
    } as SMTPServerOptions,
    hooks,
  );
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return (server.server.address() as { port: number }).port;
}

describe('SekishoConnection', () => {
  it('sends a handler reply that carries its enhanced code verbatim', async () => {
    const port = await serve({
      greetPauseMs: 0,
      onMailFrom: (_a, _s, cb) => cb(Object.assign(new Error('5.7.1 Please, mail from a valid IP or Domain address.'), { responseCode: 550 })),
    });
    const c = await Client.connect(port);
    await c.read();
    await c.cmd('EHLO x.ext.jp');
    expect((await c.cmd('MAIL FROM:<a@ext.jp>')).lines).toEqual(['550 5.7.1 Please, mail from a valid IP or Domain address.']);
    // Library replies keep the library's enhanced code.
    expect((await c.cmd('RCPT TO:<b@ext.jp>')).lines).toEqual(['503 5.5.1 Error: need MAIL command']);
    c.close();
  });

  it('answers an over-long command line 500 5.5.2 and closes', async () => {
    const port = await serve({ greetPauseMs: 0 });
    const c = await Client.connect(port);
    await c.read();
    c.write('NOOP ' + 'x'.repeat(20_000) + '\r\n');
    expect((await c.read()).lines).toEqual(['500 5.5.2 Error: command line too long']);
    expect(await c.waitClosed()).toBe(true);
  });

  it('with greetPauseMs 0 holds a command sent before the banner and answers it after', async () => {
    const port = await serve({ greetPauseMs: 0, onConnect: (_s, cb) => void setTimeout(() => cb(), 300) });
    const c = await Client.connect(port);
    c.write('EHLO eager.ext.jp\r\n');
    expect((await c.read()).code).toBe(220);
    expect((await c.read()).code).toBe(250);
    c.close();
  });

  it('with a greeting pause refuses the same client as an early talker (554 5.5.0)', async () => {
    const port = await serve({ greetPauseMs: 300 });
    const c = await Client.connect(port);
    c.write('EHLO eager.ext.jp\r\n');
    const r = await c.read();
    expect(r.code).toBe(554);
    expect(r.text).toMatch(/^5\.5\.0 .*You talk too soon$/);
    expect(await c.waitClosed()).toBe(true);
  });

  it('answers VRFY and EXPN through the hook', async () => {
    const port = await serve({ greetPauseMs: 0 });
    const c = await Client.connect(port);
    await c.read();
    await c.cmd('EHLO x.ext.jp');
    expect((await c.cmd('VRFY a')).lines).toEqual(['252 2.1.5 maybe']);
    expect((await c.cmd('EXPN a')).lines).toEqual(['252 2.1.5 maybe']);
    c.close();
  });
});
