// CI on a Windows runner (.github/workflows/windows.yml): after the silent install, prove the
// installed service relays. A small SMTP sink (smtp-server) on 127.0.0.1:2526 stands for the
// internal mail server; gateway.dat routes test.jp there; a message to someone@test.jp is sent
// to the service on port 25 (nodemailer) and must arrive at the sink. Every wait is bounded.
import { appendFileSync } from 'node:fs';
import { SMTPServer } from 'smtp-server';
import nodemailer from 'nodemailer';

const WORKDIR = process.env.SEKISHO_WORKDIR ?? 'C:\\mail';
const SINK_PORT = 2526;
const subject = `windows-ci-${Date.now()}`;
let received = false;

const sink = new SMTPServer({
  authOptional: true,
  disabledCommands: ['AUTH', 'STARTTLS'],
  onData(stream, _session, done) {
    let text = '';
    stream.on('data', (d) => (text += d));
    stream.on('end', () => {
      if (text.includes(subject)) received = true;
      done();
    });
  },
});
await new Promise((r) => sink.listen(SINK_PORT, '127.0.0.1', r));

// As an administrator would add them (Notepad: CRLF); the service reloads by itself.
appendFileSync(`${WORKDIR}\\domains.dat`, 'test.jp\r\n');
appendFileSync(`${WORKDIR}\\aliases.dat`, 'someone@test.jp -> someone@test.jp\r\n');
appendFileSync(`${WORKDIR}\\gateway.dat`, `test.jp, 127.0.0.1, ${SINK_PORT}\r\n`);

const transport = nodemailer.createTransport({ host: '127.0.0.1', port: 25, secure: false, ignoreTLS: true });
let sent = false;
for (let i = 0; i < 60 && !sent; i++) {
  try {
    const info = await transport.sendMail({ from: 'ci@example.org', to: 'someone@test.jp', subject, text: 'relayed by the installed service' });
    console.log(`accepted: ${info.response}`);
    sent = true;
  } catch (err) {
    // Before the reload the recipient is unknown (550); before the service is up, no connection.
    console.log(`attempt ${i + 1}: ${err.message}`);
    await new Promise((r) => setTimeout(r, 2000));
  }
}
for (let i = 0; i < 120 && sent && !received; i++) await new Promise((r) => setTimeout(r, 500));
sink.close();
console.log(received ? 'relayed: the message reached the sink' : 'FAILED: the message did not reach the sink');
process.exit(received ? 0 : 1);
