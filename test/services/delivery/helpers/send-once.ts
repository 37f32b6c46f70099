// Run as a child process (under strace in smtp-client-wire.test.ts): one HopConnection, one
// message of SIZE bytes to the recipients given, then QUIT; prints the results as JSON.
import { HopConnection } from '../../../../services/delivery/smtp-client.js';

const [port, size, ...to] = process.argv.slice(2);
const line = 'x'.repeat(76) + '\r\n';
const body = Buffer.from(('Subject: wire\r\n\r\n' + line.repeat(Math.ceil(Number(size) / line.length))).slice(0, Number(size)));
const conn = await HopConnection.open(
  { address: '127.0.0.1', port: Number(port), hostname: '127.0.0.1' },
  { helo: 'gw.test.jp', connectTimeoutMs: 5000, replyTimeoutMs: 5000 },
);
const res = await conn.send('a@test.jp', to, body.length, () => body);
conn.quit();
process.stdout.write(JSON.stringify(res) + '\n');
setTimeout(() => process.exit(0), 200);
