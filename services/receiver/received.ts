// The Received trace field we prepend (SPEC 7; RFC 5321 section 4.4, RFC 5322 section 3.6.7),
// with the protocol names of RFC 3848 (ESMTP, ESMTPS, ESMTPA, ESMTPSA).
import { domainToASCII } from 'node:url';

export interface ReceivedInfo {
  /** HELO/EHLO argument as the client gave it. */
  helo: string;
  /** Forward-confirmed reverse-DNS name, '' when none. */
  clientHostname: string;
  clientIp: string;
  /** Our own name (settings.hostname). */
  hostname: string;
  esmtp: boolean;
  tls: boolean;
  authenticated: boolean;
  id: string;
  date: Date;
}

/** RFC 3848 section 2 / RFC 5321 section 4.4 `with` protocol. */
export function withProtocol(i: Pick<ReceivedInfo, 'esmtp' | 'tls' | 'authenticated'>): string {
  if (!i.esmtp) return 'SMTP';
  return `ESMTP${i.tls ? 'S' : ''}${i.authenticated ? 'A' : ''}`;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const two = (n: number) => String(n).padStart(2, '0');

/** RFC 5322 section 3.3 date-time in local time: `Mon, 23 Nov 2026 18:00:00 +0900`. */
export function rfc5322Date(d: Date): string {
  const offset = -d.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const abs = Math.abs(offset);
  return (
    `${DAYS[d.getDay()]}, ${d.getDate()} ${MONTHS[d.getMonth()]} ${d.getFullYear()} ` +
    `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())} ${sign}${two(Math.floor(abs / 60))}${two(abs % 60)}`
  );
}

/**
 * Client-supplied text inside a header: smtp-server already refuses control characters in
 * HELO, but a header field body is printable US-ASCII (RFC 5322 section 2.2), and an
 * unbalanced parenthesis would open a comment that swallows the rest of the line.
 */
function clean(text: string): string {
  return text.replace(/[^\x21-\x7e]/g, '?').replace(/[()\\]/g, '?');
}

/** Our own name in ASCII (an IDN hostname in settings.json becomes its xn-- form). */
function asciiHost(name: string): string {
  return clean(domainToASCII(name) || name);
}

/** The complete field with its CRLF, ready to be the first bytes of the .MSG file. */
export function receivedHeader(i: ReceivedInfo): string {
  const helo = clean(i.helo) || i.clientIp;
  const host = i.clientHostname ? clean(i.clientHostname) : 'unknown';
  const ip = i.clientIp.includes(':') ? `IPv6:${i.clientIp}` : i.clientIp;
  return (
    `Received: from ${helo} (${host} [${ip}]) by ${asciiHost(i.hostname)} (Sekisho) with ${withProtocol(i)} ` +
    `id ${i.id}; ${rfc5322Date(i.date)}\r\n`
  );
}
