import { describe, it, expect } from 'vitest';
import { eventTargets } from '../../electron/event-routing.js';
import type { ServiceName } from '../../services/control/api.js';

describe('eventTargets', () => {
  const debug = new Map<ServiceName, string>([['receiver', 'receiver-console']]);

  it('sends debug lines only to the console of that service', () => {
    expect(eventTargets({ type: 'debug', service: 'receiver', line: 'x' }, { main: 'main', debug })).toEqual(['receiver-console']);
    expect(eventTargets({ type: 'debug', service: 'delivery', line: 'x' }, { main: 'main', debug })).toEqual([]);
  });

  it('sends everything else to the main window, when there is one', () => {
    expect(eventTargets({ type: 'queue' }, { main: 'main', debug })).toEqual(['main']);
    expect(eventTargets({ type: 'status', services: [] }, { main: 'main', debug })).toEqual(['main']);
    expect(eventTargets({ type: 'log', kind: 'accept', line: 'l' }, { main: null, debug })).toEqual([]);
  });
});
