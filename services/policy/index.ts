// The policy engine's public surface (pure functions over a ConfigSnapshot, no I/O).
export * from './types.js';
export { parseAddress, normalizeDomain, type ParsedAddress, type AbuseForm } from './address.js';
export { evaluateConnect, evaluateMailFrom, isTrusted, relayPermission, describeEffectRule } from './effect.js';
export { evaluateRcpt } from './recipients.js';
export { lookupRoute, parseSmarthost, formatHostPort } from './route.js';
export { formatReply, replies } from './replies.js';
export { configWarnings } from './warnings.js';
export { explain, senderArgFrom, type ExplainOptions } from './explain.js';
