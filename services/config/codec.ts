// Text files as Japanese offices keep them (SPEC 3): UTF-8 with or without BOM, or
// Shift_JIS / CP932 as Notepad wrote it for twenty years; CRLF or LF. We detect the format
// on read and write back in the same one, so an edit never re-encodes the lines it did not touch.
import iconv from 'iconv-lite';
import type { LineEnding, TextEncoding, TextFileFormat } from './types.js';

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** The format of a file Sekisho creates: UTF-8, CRLF (what Notepad on Windows expects). */
export const NEW_FILE_FORMAT: TextFileFormat = { encoding: 'utf8', eol: '\r\n', finalNewline: true };

export function detectEncoding(buf: Buffer): TextEncoding {
  if (buf.length >= 3 && buf.subarray(0, 3).equals(BOM)) return 'utf8bom';
  try {
    // Strict: one invalid sequence and it is not UTF-8. Pure ASCII is UTF-8.
    new TextDecoder('utf-8', { fatal: true }).decode(buf);
    return 'utf8';
  } catch {
    return 'cp932';
  }
}

function decodeWith(buf: Buffer, encoding: TextEncoding): string {
  switch (encoding) {
    case 'utf8bom':
      return buf.subarray(3).toString('utf8');
    case 'utf8':
      return buf.toString('utf8');
    case 'cp932':
      return iconv.decode(buf, 'cp932');
  }
}

export function decodeText(buf: Buffer): { text: string; format: TextFileFormat } {
  const encoding = detectEncoding(buf);
  const text = decodeWith(buf, encoding);
  const { eol, finalNewline } = splitLines(text);
  return { text, format: { encoding, eol, finalNewline } };
}

/**
 * Split on LF; a CR right before the LF belongs to the line ending. The line ending of the
 * file is the first one found (CRLF when the file has none: a new file is CRLF). An empty
 * text has no lines; a text ending in a line break has no empty last line.
 */
export function splitLines(text: string): { lines: string[]; eol: LineEnding; finalNewline: boolean } {
  if (text === '') return { lines: [], eol: '\r\n', finalNewline: true };
  const parts = text.split('\n');
  const finalNewline = parts[parts.length - 1] === '';
  if (finalNewline) parts.pop();
  let eol: LineEnding | null = null;
  const lines = parts.map((p, i) => {
    const hasBreak = i < parts.length - 1 || finalNewline;
    const crlf = hasBreak && p.endsWith('\r');
    if (hasBreak && eol === null) eol = crlf ? '\r\n' : '\n';
    return crlf ? p.slice(0, -1) : p;
  });
  return { lines, eol: eol ?? '\r\n', finalNewline };
}

/** Encode one piece of text; throws when CP932 cannot hold a character (no silent '?'). */
export function encodeText(text: string, encoding: TextEncoding): Buffer {
  if (encoding === 'cp932') {
    const out = iconv.encode(text, 'cp932');
    if (iconv.decode(out, 'cp932') !== text) {
      const bad = [...text].find((ch) => iconv.decode(iconv.encode(ch, 'cp932'), 'cp932') !== ch);
      throw new Error(`the character "${bad}" cannot be written in Shift_JIS (CP932); save the file as UTF-8`);
    }
    return out;
  }
  return Buffer.from(text, 'utf8');
}

export function encodeLines(lines: string[], format: TextFileFormat): Buffer {
  for (const l of lines) {
    if (/[\r\n]/.test(l)) throw new Error('a line must not contain a line break');
  }
  let text = lines.join(format.eol);
  if (lines.length && format.finalNewline) text += format.eol;
  const body = encodeText(text, format.encoding);
  return format.encoding === 'utf8bom' ? Buffer.concat([BOM, body]) : body;
}

/**
 * The file's lines as raw bytes: content without line ending, and the line ending bytes.
 * Used to write untouched lines back byte for byte. Splitting bytes at LF is safe for CP932:
 * its trail bytes are 0x40–0xFC, never 0x0A or 0x0D.
 */
export function splitRawLines(buf: Buffer): { bom: boolean; lines: Array<{ content: Buffer; eol: Buffer }> } {
  const bom = buf.length >= 3 && buf.subarray(0, 3).equals(BOM);
  const body = bom ? buf.subarray(3) : buf;
  const lines: Array<{ content: Buffer; eol: Buffer }> = [];
  let start = 0;
  while (start < body.length) {
    const lf = body.indexOf(0x0a, start);
    if (lf < 0) {
      lines.push({ content: body.subarray(start), eol: Buffer.alloc(0) });
      break;
    }
    const cr = lf > start && body[lf - 1] === 0x0d;
    lines.push({ content: body.subarray(start, cr ? lf - 1 : lf), eol: body.subarray(cr ? lf - 1 : lf, lf + 1) });
    start = lf + 1;
  }
  return { bom, lines };
}
