import { describe, it, expect } from 'vitest';
import { DeadHosts } from '../../../services/delivery/dead-hosts.js';

describe('DeadHosts', () => {
  it('remembers an unreachable host for one retry interval, at most a minute', () => {
    const d = new DeadHosts();
    d.markDown('192.0.2.1', 25, 'ECONNREFUSED', 120, 0);
    expect(d.down('192.0.2.1', 25, 59_999)).toBe('ECONNREFUSED');
    expect(d.down('192.0.2.1', 26, 1)).toBeNull();
    expect(d.down('192.0.2.1', 25, 60_000)).toBeNull();
    d.markDown('192.0.2.1', 25, 'ETIMEDOUT', 5, 0);
    expect(d.down('192.0.2.1', 25, 4_999)).toBe('ETIMEDOUT');
    d.markUp('192.0.2.1', 25);
    expect(d.down('192.0.2.1', 25, 1)).toBeNull();
  });
});
