// VRFY and EXPN (RFC 5321 sections 3.5 and 4.1.1.6-7). They tell a stranger which addresses
// exist, so they are off unless receiver.vrfyExpn; then they answer from the same alias and
// account look-up as RCPT (the policy engine), as the recipient would be treated from a
// client with the `default` standing.
import type { ConfigSnapshot } from '../config/types.js';
import type { PolicySession } from '../policy/types.js';
import { evaluateRcpt } from '../policy/index.js';
import { REPLIES } from './replies.js';
import type { VerifyAnswer } from './smtp.js';

export function verifyAnswer(
  snap: ConfigSnapshot,
  session: PolicySession,
  command: 'VRFY' | 'EXPN',
  argument: string,
): VerifyAnswer & { trace: string[] } {
  const plain = (r: { code: number; enhanced: string; text: string }, trace: string[] = []) => ({
    code: r.code,
    lines: [`${r.enhanced} ${r.text}`],
    trace,
  });
  if (!snap.settings.receiver.vrfyExpn) return plain(command === 'VRFY' ? REPLIES.vrfyDisabled : REPLIES.expnDisabled);
  const arg = argument.trim();
  if (!arg) return plain(command === 'VRFY' ? REPLIES.vrfySyntax : REPLIES.expnSyntax);
  const d = evaluateRcpt(snap, session, { action: 'default' }, { kind: 'null' }, arg);
  if (!d.accept) return plain(d.reply ?? REPLIES.localError, d.trace);
  return { code: 250, lines: d.targets.map((t) => `2.1.5 <${t.address}>`), trace: d.trace };
}
