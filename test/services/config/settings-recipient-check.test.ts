// settings.json `recipientCheck` (issue 15): defaults, ranges, unknown keys are errors.
import { describe, expect, it } from 'vitest';
import { defaultSettings, validateSettings } from '../../../services/config/settings.js';

describe('settings.json recipientCheck', () => {
  it('is off by default, with the documented defaults', () => {
    expect(defaultSettings().recipientCheck).toEqual({
      domains: [],
      allRoutedDomains: false,
      existsCacheSec: 86_400,
      unknownCacheSec: 3_600,
      timeoutSec: 10,
      maxConcurrent: 5,
      idleSec: 30,
      whenUnavailable: 'tempfail',
      maxCacheEntries: 10_000,
    });
  });

  it('takes a partial section and fills the rest', () => {
    const r = validateSettings({ recipientCheck: { domains: ['test.jp'], whenUnavailable: 'accept' } });
    expect(r.ok && r.settings.recipientCheck).toMatchObject({ domains: ['test.jp'], whenUnavailable: 'accept', maxConcurrent: 5 });
  });

  it('refuses unknown keys, wrong values and out-of-range numbers, naming the key path', () => {
    const bad = validateSettings({
      recipientCheck: { domain: ['test.jp'], whenUnavailable: 'bounce', maxConcurrent: 0, timeoutSec: 301, idleSec: 1.5, existsCacheSec: -1 },
    });
    expect(bad.ok).toBe(false);
    const paths = bad.ok ? [] : bad.issues.map((i) => i.path).sort();
    expect(paths).toEqual([
      'recipientCheck.domain',
      'recipientCheck.existsCacheSec',
      'recipientCheck.idleSec',
      'recipientCheck.maxConcurrent',
      'recipientCheck.timeoutSec',
      'recipientCheck.whenUnavailable',
    ]);
  });
});
