// The few places where the receiver needs more than smtp-server's handler options, as a
// subclass of its connection (smtp-server 3.21.6, pinned by patches/smtp-server+3.21.6.patch):
// - replies whose text already carries an enhanced status code (the policy engine's, ours)
//   go out verbatim instead of getting a second code from the library's default table;
// - the EHLO keyword list is ours (AUTH only where allowed, SIZE always: RFC 1870 section 4);
// - AUTH is gated before the library sees it (TLS requirement, auth.enabled, RFC 4954 4);
// - VRFY/EXPN are answered by us (settings receiver.vrfyExpn);
// - MAIL FROM with an empty argument (effect.dat `#blank`) is told apart from `<>`, and the
//   address is kept as the client wrote it (source routes, IP literals) for the policy.
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';
import type { Reply } from '../policy/types.js';
import { REPLIES, replyMessage } from './replies.js';

/**
 * Library replies we word ourselves, so one limit has one text whichever layer hits it
 * (docs/receiver.md). Matched on smtp-server 3.21.6's wording; test/services/receiver covers it.
 */
const LIBRARY_REWRITES: Array<{ code: number; text: RegExp; reply: Reply; close?: boolean }> = [
  // MAIL FROM SIZE=n above the limit (RFC 1870 section 6.2) says the same as DATA over it.
  { code: 552, text: /^Error: message exceeds fixed maximum message size/, reply: REPLIES.sizeExceeded },
  // RFC 5321 section 4.2.4: a command line too long is a 500 syntax error, not a temporary
  // 421 (the client would retry the same line forever). The parser cannot go on: close.
  { code: 421, text: /^Error: Command line too long/, reply: REPLIES.lineTooLong, close: true },
  // Commands after a shutdown began, and the sessions cut at its deadline.
  { code: 421, text: /^Server shutting down/, reply: REPLIES.shuttingDown, close: true },
];

/** `5.7.1 ` at the start of a reply text: the code is already there. RFC 3463 section 2. */
const ENHANCED_PREFIX = /^[245]\.\d{1,3}\.\d{1,3}(?: |$)/;

export interface VerifyAnswer {
  code: number;
  /** Each line starts with its enhanced code. */
  lines: string[];
}

export interface ConnectionHooks {
  /** Called once per accepted socket, before anything is read from it. */
  created(conn: SekishoConnection): void;
  /** The EHLO keywords to advertise (the library's list comes in). */
  ehloFeatures(conn: SekishoConnection, features: string[]): string[];
  /** A refusal for AUTH right now, or null to let the exchange run. */
  authGate(conn: SekishoConnection): Reply | null;
  verify(conn: SekishoConnection, command: 'VRFY' | 'EXPN', argument: string): Promise<VerifyAnswer>;
}

export class SekishoConnection extends SMTPConnection {
  /** The `<...>` of the last MAIL/RCPT command as written, before the library normalised it. */
  rawAddress = '';
  /** The last MAIL command had an empty argument (`MAIL FROM:`), see effect.dat `#blank`. */
  blankSender = false;
  private inEhlo = false;
  private readonly hooks: ConnectionHooks;
  /** A command that arrived before the greeting while greetPauseMs is 0 (see _onCommand). */
  private early: { command: Buffer; callback?: () => void } | null = null;

  constructor(server: SekishoServer, socket: Socket | TLSSocket, options: ConstructorParameters<typeof SMTPConnection>[2], hooks: ConnectionHooks) {
    super(server, socket, options);
    this.hooks = hooks;
  }

  send(code: number, data?: string | string[] | null, context?: string | false): void {
    let lines = data;
    if (this.inEhlo && code === 250 && Array.isArray(lines)) {
      lines = [lines[0], ...this.hooks.ehloFeatures(this, lines.slice(1))];
    }
    if (typeof lines === 'string') {
      const text = lines;
      const rewrite = LIBRARY_REWRITES.find((r) => r.code === code && r.text.test(text));
      if (rewrite) {
        super.send(rewrite.reply.code, replyMessage(rewrite.reply), false);
        if (rewrite.close) this.close();
        return;
      }
    }
    const first = Array.isArray(lines) ? lines[0] : lines;
    if (typeof first === 'string' && ENHANCED_PREFIX.test(first)) context = false;
    super.send(code, lines, context);
  }

  /**
   * With greetPauseMs 0 there is no early-talker test (SPEC 7), yet the banner still waits for
   * the connect policy (reverse DNS can take seconds): a command that arrives meanwhile is held
   * and run once the banner is out, instead of the patched library's 554. The parser sends the
   * next line only after this one's callback, so at most one command is held.
   */
  _onCommand(command: Buffer, callback?: () => void): void {
    const pause = (this._server.options as { greetPauseMs?: number }).greetPauseMs;
    if (!this._ready && !this._closing && pause === 0) {
      this.early = { command, callback };
      return;
    }
    super._onCommand(command, callback);
  }

  _sendGreeting(): void {
    super._sendGreeting();
    const held = this.early;
    this.early = null;
    if (held) setImmediate(() => super._onCommand(held.command, held.callback));
  }

  /** Send one of our Reply values. */
  reply(r: Reply): void {
    this.send(r.code, replyMessage(r));
  }

  handler_EHLO(command: Buffer, callback: () => void): void {
    this.inEhlo = true;
    try {
      super.handler_EHLO(command, callback);
    } finally {
      this.inEhlo = false;
    }
  }

  handler_AUTH(command: Buffer, callback: () => void): void {
    const refusal = this.hooks.authGate(this);
    if (refusal) {
      this.reply(refusal);
      return callback();
    }
    super.handler_AUTH(command, callback);
  }

  handler_MAIL(command: Buffer, callback: () => void): void {
    const m = /^MAIL\s+FROM\s*:(.*)$/is.exec(command.toString());
    this.rawAddress = '';
    this.blankSender = false;
    if (m) {
      const arg = m[1].trim();
      if (arg === '') {
        // RFC 5321 requires `<>`, but the old gateways told `MAIL FROM:` apart (`#blank`).
        this.blankSender = true;
        command = Buffer.from('MAIL FROM:<>');
      } else {
        this.rawAddress = angleArgument(arg);
      }
    }
    super.handler_MAIL(command, callback);
  }

  handler_RCPT(command: Buffer, callback: () => void): void {
    const m = /^RCPT\s+TO\s*:(.*)$/is.exec(command.toString());
    this.rawAddress = m ? angleArgument(m[1].trim()) : '';
    super.handler_RCPT(command, callback);
  }

  handler_VRFY(command: Buffer, callback: () => void): void {
    this.answerVerify('VRFY', command, callback);
  }

  handler_EXPN(command: Buffer, callback: () => void): void {
    this.answerVerify('EXPN', command, callback);
  }

  private answerVerify(kind: 'VRFY' | 'EXPN', command: Buffer, callback: () => void): void {
    const argument = command.toString().trim().replace(/^\S+\s*/, '');
    this.hooks.verify(this, kind, argument).then(
      (answer) => {
        this.send(answer.code, answer.lines.length === 1 ? answer.lines[0] : answer.lines);
        callback();
      },
      () => {
        this.send(451, '4.3.0 Requested action aborted: local error in processing');
        callback();
      },
    );
  }
}

/** `<a@b> SIZE=10` -> `a@b`; a bare word when there are no brackets. */
function angleArgument(arg: string): string {
  const m = /^<([^<>]*)>/.exec(arg);
  return m ? m[1] : arg.split(/\s+/)[0];
}

/** smtp-server with our connection class. */
export class SekishoServer extends SMTPServer {
  private readonly hooks: ConnectionHooks;

  constructor(options: SMTPServerOptions, hooks: ConnectionHooks) {
    super(options);
    this.hooks = hooks;
  }

  // Same as the library's connect(), with our connection class.
  connect(socket: Socket | TLSSocket, socketOptions?: ConstructorParameters<typeof SMTPConnection>[2]): void {
    const connection = new SekishoConnection(this, socket, socketOptions, this.hooks);
    this.connections.add(connection);
    connection.on('error', (err: Error) => this._onError(err));
    connection.on('connect', (data) => this._onClientConnect(data));
    this.hooks.created(connection);
    connection.init();
  }
}
