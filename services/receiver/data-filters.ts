// Streaming checks over the message as smtp-server hands it to us (dot-unstuffed, without the
// final `.`): each sees every byte once and keeps only a few bytes of state, so a message of
// any size is checked without being buffered.

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;

/**
 * SMTP smuggling (CVE-2023-51764 / -51765 / -51766): some servers end DATA at `<LF>.<LF>`,
 * `<LF>.<CRLF>`, `<CR>.<CR>` or `<CRLF>.<LF>`. smtp-server ends DATA only at `<CRLF>.<CRLF>`
 * (RFC 5321 section 4.1.1.4), so such a sequence reaches us as content; relayed to one of
 * those servers it would end the message there and turn the rest into a second message
 * with a forged envelope. We refuse the message instead (docs/receiver.md).
 *
 * Flagged: a `.` with a CR or LF right before it and a CR or LF right after it, unless the
 * framing is exactly `<CRLF>.<CRLF>` (a real `.` line, sent dot-stuffed as `..`).
 */
export class SmugglingDetector {
  /** Up to the last four bytes seen; starts with the CRLF that ended the DATA command. */
  private tail: Buffer = Buffer.from('\r\n');
  private found = false;

  get detected(): boolean {
    return this.found;
  }

  /** Feed the next chunk; true once a smuggling sequence was seen. */
  push(chunk: Buffer): boolean {
    if (this.found || chunk.length === 0) return this.found;
    const buf = this.tail.length ? Buffer.concat([this.tail, chunk]) : chunk;
    // Positions before tail.length - 2 were judged with the previous chunk.
    const from = Math.max(0, this.tail.length - 2);
    for (let i = buf.indexOf(DOT, from); i !== -1 && i <= buf.length - 3; i = buf.indexOf(DOT, i + 1)) {
      if (this.suspicious(buf, i)) {
        this.found = true;
        return true;
      }
    }
    this.tail = Buffer.from(buf.subarray(Math.max(0, buf.length - 4)));
    return false;
  }

  /** The content is over: judge the last positions with nothing after them. */
  finish(): boolean {
    if (this.found) return true;
    const buf = this.tail;
    for (let i = Math.max(0, buf.length - 2); i < buf.length; i++) {
      if (buf[i] === DOT && this.suspicious(buf, i)) this.found = true;
    }
    return this.found;
  }

  private suspicious(buf: Buffer, i: number): boolean {
    const before = i >= 1 ? buf[i - 1] : -1;
    const after = i + 1 < buf.length ? buf[i + 1] : -1;
    if (before !== CR && before !== LF) return false;
    if (after !== CR && after !== LF) return false;
    const crlfBefore = before === LF && i >= 2 && buf[i - 2] === CR;
    const crlfAfter = after === CR && i + 2 < buf.length && buf[i + 2] === LF;
    return !(crlfBefore && crlfAfter);
  }
}

/**
 * Counts `Received:` fields in the header section (RFC 5322 section 3.6.7 trace fields; the
 * obsolete syntax of section 4.5.3 allows blanks before the colon), for the hop limit of
 * RFC 5321 section 6.3. Stops at the empty line that ends the header section.
 */
export class ReceivedCounter {
  count = 0;
  private done = false;
  /** The start of the current line (enough to recognise `Received :`), lower-cased. */
  private lineStart = '';
  private lineLength = 0;

  get headerEnded(): boolean {
    return this.done;
  }

  push(chunk: Buffer): number {
    let pos = 0;
    while (!this.done && pos < chunk.length) {
      const lf = chunk.indexOf(LF, pos);
      const end = lf === -1 ? chunk.length : lf;
      this.take(chunk, pos, end);
      if (lf === -1) break;
      this.endLine();
      pos = lf + 1;
    }
    return this.count;
  }

  private take(chunk: Buffer, from: number, to: number): void {
    if (to <= from) return;
    if (this.lineStart.length < 32) {
      this.lineStart += chunk.toString('latin1', from, Math.min(to, from + 32 - this.lineStart.length)).toLowerCase();
    }
    this.lineLength += to - from;
  }

  private endLine(): void {
    const empty = this.lineLength === 0 || (this.lineLength === 1 && this.lineStart === '\r');
    if (empty) {
      this.done = true;
    } else if (/^received[ \t]*:/.test(this.lineStart)) {
      this.count++;
    }
    this.lineStart = '';
    this.lineLength = 0;
  }
}
