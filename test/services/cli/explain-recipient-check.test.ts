// `sekisho explain` with recipient verification on (issue 15): the real CLI in a child process
// reads verify-cache.json and reports the receiver's cached answers; it never asks itself
// (gateway.dat points at a port where nothing listens, and the output says "would ask").
import { describe, expect, it } from 'vitest';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli as sekisho } from '../config/run-cli.js';
import { writeRecipientCache } from '../../../services/config/recipient-cache.js';

describe('sekisho explain with recipient verification', () => {
  it('shows "verified by … (cached N min ago)", refuses a cached unknown, and says it would ask otherwise', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sekisho-explain-rc-'));
    await writeFile(join(dir, 'settings.json'), JSON.stringify({ hostname: 'gw.test.jp', recipientCheck: { domains: ['corp.jp'] } }));
    await writeFile(join(dir, 'gateway.dat'), 'corp.jp, 127.0.0.1, 9\r\n');
    await writeFile(join(dir, 'aliases.dat'), '*@corp.jp -> *@corp.jp\r\n');
    await writeFile(join(dir, 'effect.dat'), '#<> default\r\n#blank false\r\n');
    const at = Date.now() - 12 * 60_000;
    await writeRecipientCache(dir, {
      version: 1,
      entries: [
        { address: 'taro@corp.jp', answer: 'exists', at, host: '192.168.0.10:25', reply: '250 2.1.5 Ok' },
        { address: 'ghost@corp.jp', answer: 'unknown', at, host: '192.168.0.10:25', reply: '550 5.1.1 <ghost@corp.jp>: User unknown' },
      ],
      cleared: {},
      clearedAll: 0,
    });
    const r = await sekisho(['explain', '--workdir', dir, '--client', '203.0.113.7', '--from', 'a@ext.jp', '--to', 'Taro@corp.jp', 'ghost@corp.jp', 'new@corp.jp']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[2]).toMatch(/^RCPT TO:<Taro@corp\.jp>: accepted -> .*; verified by 192\.168\.0\.10:25 \(cached 12 min ago\)$/);
    expect(lines[3]).toMatch(/^RCPT TO:<ghost@corp\.jp>: refused 550 5\.1\.1 <ghost@corp\.jp>\.\.\. User unknown \(.*refused by 192\.168\.0\.10:25: 550 5\.1\.1 <ghost@corp\.jp>: User unknown \(cached 12 min ago\)\)$/);
    expect(lines[4]).toMatch(/^RCPT TO:<new@corp\.jp>: accepted -> .*; no cached answer; the receiver would ask 127\.0\.0\.1:9$/);
  }, 30_000);
});
