// The queue folder (SPEC 8), in one import for receiver, delivery and control.
export type { ControlRecord, QueueId, RecipientState, RecipientStatus } from './types.js';
export { IdAllocator, type IdAllocatorOptions } from './ids.js';
export { QueueWriter, type PendingMessage, type NewControlRecord, type QueueWriterOptions } from './writer.js';
export {
  QUEUE_FORMAT,
  QUEUE_FORMAT_V1,
  QueueFormatError,
  readControl,
  readControlSync,
  messageFile,
  readMessageBytes,
  writeControl,
  listQueue,
  listQueueIds,
  scanQueue,
  removeMessage,
  validateControlRecord,
  serializeControl,
  type QueueProblem,
} from './store.js';
export { messagePath, controlPath, statePath, lockPath, incomingDir, isQueueId, formatQueueId, parseQueueId } from './paths.js';
export { claimMessage, isClaimed, listClaimed, type Claim } from './claim.js';
export { watchQueue, type QueueWatcher, type WatchQueueOptions } from './watch.js';
export { sweepOrphans, type SweepOptions, type SweepReport } from './sweep.js';
