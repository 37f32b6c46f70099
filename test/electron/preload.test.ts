// The compiled preload (dist form of electron/preload.cts, CommonJS) run the way a sandboxed
// preload runs: a CommonJS function whose only module is 'electron'. Electron itself is the
// one stand-in (its binary cannot be downloaded here).
import { describe, it, expect } from 'vitest';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import ts from 'typescript';

async function loadPreload() {
  const source = await readFile(join(import.meta.dirname, '..', '..', 'electron', 'preload.cts'), 'utf8');
  const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } }).outputText;
  const exposed: Record<string, unknown> = {};
  const invoked: Array<{ channel: string; args: unknown[] }> = [];
  const listeners = new Map<string, Set<(...a: unknown[]) => void>>();
  const electron = {
    contextBridge: {
      exposeInMainWorld(key: string, api: unknown) {
        exposed[key] = api;
      },
    },
    ipcRenderer: {
      invoke: async (channel: string, ...args: unknown[]) => {
        invoked.push({ channel, args });
        return { echoed: args };
      },
      on(channel: string, l: (...a: unknown[]) => void) {
        if (!listeners.has(channel)) listeners.set(channel, new Set());
        listeners.get(channel)!.add(l);
      },
      removeListener(channel: string, l: (...a: unknown[]) => void) {
        listeners.get(channel)?.delete(l);
      },
    },
  };
  const required: string[] = [];
  const mod = { exports: {} };
  const requireFn = (name: string) => {
    required.push(name);
    if (name !== 'electron') throw new Error(`a sandboxed preload cannot require ${name}`);
    return electron;
  };
  new Function('require', 'module', 'exports', js)(requireFn, mod, mod.exports);
  return { exposed, invoked, listeners, required };
}

describe('preload', () => {
  it('exposes only window.sekisho with call and onEvent, and requires nothing but electron', async () => {
    const { exposed, required } = await loadPreload();
    expect(Object.keys(exposed)).toEqual(['sekisho']);
    expect(Object.keys(exposed.sekisho as object).sort()).toEqual(['call', 'onEvent']);
    expect(required).toEqual(['electron']);
  });

  it('call goes over the one channel sekisho:call as (method, argsArray)', async () => {
    const { exposed, invoked } = await loadPreload();
    const api = exposed.sekisho as { call: (m: string, ...a: unknown[]) => Promise<unknown> };
    await api.call('readTable', 'effect');
    await api.call('saveTable', { table: 'effect', lines: [], baseVersion: 'v' });
    expect(invoked).toEqual([
      { channel: 'sekisho:call', args: ['readTable', ['effect']] },
      { channel: 'sekisho:call', args: ['saveTable', [{ table: 'effect', lines: [], baseVersion: 'v' }]] },
    ]);
  });

  it('onEvent hands the page only the event (never the IPC event with its sender) and unsubscribes', async () => {
    const { exposed, listeners } = await loadPreload();
    const api = exposed.sekisho as { onEvent: (cb: (...a: unknown[]) => void) => () => void };
    const got: unknown[][] = [];
    const off = api.onEvent((...a) => got.push(a));
    const [l] = [...listeners.get('sekisho:event')!];
    l({ sender: 'the ipcRenderer' }, { type: 'queue' });
    expect(got).toEqual([[{ type: 'queue' }]]);
    off();
    expect(listeners.get('sekisho:event')!.size).toBe(0);
  });
});
