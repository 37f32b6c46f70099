// The queue folder's contract (SPEC 8; layout in docs/queue-format.md). Format 2 (current):
// `incoming/<ID>.$CP` is the queue file, the message as received followed by this record as its
// envelope (pretty printed JSON, readable in Notepad), committed by one flush; the record's later
// states (after delivery attempts) go to `incoming/<ID>.$ST`. Format 1 (read after an upgrade):
// `<ID>.MSG` holds the message and `<ID>.$CP` this record alone.

/** `B` + ten digits, e.g. `B0000000097`. */
export type QueueId = string;

export type RecipientStatus = 'pending' | 'delivered' | 'failed';

export interface RecipientState {
  /** The address to deliver to (after alias expansion). */
  address: string;
  /** The address as the client gave it in RCPT TO, for the bounce's Original-Recipient. */
  original: string;
  /** `local` = copy into inbox/<user>/; `remote` = SMTP to the next hop. */
  kind: 'local' | 'remote';
  /** Set for kind 'local'. */
  user?: string;
  status: RecipientStatus;
  attempts: number;
  /** Remote 5xx answers so far (compared against delivery.refusalRetries). */
  refusals: number;
  /** Last reply, e.g. `550 5.1.1 <x@y>: User unknown`, or a connection error text. */
  lastReply?: string;
  /** Host:port that gave the last reply. */
  lastHost?: string;
  /** ISO time of the last attempt. */
  lastAttemptAt?: string;
  /** ISO time of the first attempt (the clocks of abnormalHours/noResponseHours start here). */
  firstAttemptAt?: string;
}

export interface ControlRecord {
  /** Format marker and version: `sekisho-queue/2` (queue file + state file), or
   *  `sekisho-queue/1` for a message queued before the upgrade (.MSG + .$CP). */
  format: 'sekisho-queue/1' | 'sekisho-queue/2';
  id: QueueId;
  /** Envelope sender; '' for the null sender `<>`. */
  from: string;
  recipients: RecipientState[];
  /** ISO time the message was accepted (the 250). */
  receivedAt: string;
  /** ISO time of the next delivery attempt. */
  nextAttemptAt: string;
  /** Retries made so far (the `-R0001` counter of the logs). */
  retries: number;
  /** Size of the message in bytes (format 1: the .MSG file; format 2: the queue file's first bytes). */
  size: number;
  /** Client that sent it: `ip`, HELO, authenticated user, for the queue view and logs. */
  client: { ip: string; helo: string; authUser: string };
  /** 'message' for ordinary mail; 'bounce' for a DSN we generated (never bounced again except to postmaster once). */
  origin: 'message' | 'bounce' | 'double-bounce';
  /** For a bounce: the ID of the message it reports on. */
  bounceOf?: QueueId;
  /**
   * ISO time an administrator asked for an attempt now (control retryNow, docs/queue-format.md):
   * that attempt goes to every next hop even if it was found unreachable a moment ago
   * (delivery/dead-hosts.ts). The attempt's control-file write drops it.
   */
  retryRequestedAt?: string;
}
