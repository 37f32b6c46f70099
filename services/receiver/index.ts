// The receiver service (SPEC 7): SMTP listeners on every configured port, the policy at
// connect / MAIL FROM / RCPT, DATA streamed into the queue, the three logs, the debug trace,
// hot reload. `startReceiver` is what `sekisho receiver` and `sekisho serve` run.
export { startReceiver, ReceiverStartError, type Receiver, type ReceiverOptions } from './receiver.js';
export { REPLIES, formatReply } from './replies.js';
