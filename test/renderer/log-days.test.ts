// The Logs tab's date picker speaks ISO dates, the log files YYMMDD (SPEC 10).
import { describe, it, expect } from 'vitest';
import { clock, countByKind, dayToIso, isoToDay, today } from '../../renderer/src/lib/state/log-days.js';

describe('log days', () => {
  it('converts YYMMDD and ISO dates both ways, refusing what is not a calendar day', () => {
    expect(dayToIso('261205')).toBe('2026-12-05');
    expect(isoToDay('2026-12-05')).toBe('261205');
    expect(isoToDay('2028-02-29')).toBe('280229');
    for (const bad of ['2026-02-30', '2026-13-01', '', '26-12-05', '2026-1-5']) expect(isoToDay(bad), bad).toBe('');
    for (const bad of ['260230', '2612', 'abcdef', '']) expect(dayToIso(bad), bad).toBe('');
    expect(isoToDay(dayToIso(today()))).toBe(today());
    expect(today(new Date(2027, 0, 9, 23, 59))).toBe('270109');
  });

  it('counts hits per log in a fixed order and shows the clock of a sortable time', () => {
    expect(countByKind([{ kind: 'sender' }, { kind: 'receive' }, { kind: 'sender' }])).toEqual([
      { kind: 'receive', n: 1 },
      { kind: 'sender', n: 2 },
    ]);
    expect(countByKind([])).toEqual([]);
    expect(clock('2026-12-05T16:27:35.171')).toBe('16:27:35');
  });
});
