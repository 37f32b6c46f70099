import { describe, expect, it } from 'vitest';
import iconv from 'iconv-lite';
import { decodeText, encodeLines, splitLines } from '../../../services/config/codec.js';

describe('decodeText', () => {
  it('detects a BOM, strict UTF-8, and falls back to CP932', () => {
    expect(decodeText(Buffer.from([0xef, 0xbb, 0xbf, 0x61, 0x0d, 0x0a])).format).toEqual({ encoding: 'utf8bom', eol: '\r\n', finalNewline: true });
    expect(decodeText(Buffer.from([0xef, 0xbb, 0xbf, 0x61])).text).toBe('a');
    expect(decodeText(Buffer.from('関所\n', 'utf8'))).toEqual({ text: '関所\n', format: { encoding: 'utf8', eol: '\n', finalNewline: true } });
    const sjis = iconv.encode("' 本社のメールサーバ\r\n", 'cp932');
    expect(decodeText(sjis)).toEqual({ text: "' 本社のメールサーバ\r\n", format: { encoding: 'cp932', eol: '\r\n', finalNewline: true } });
    // Pure ASCII is UTF-8.
    expect(decodeText(Buffer.from('test.jp')).format).toEqual({ encoding: 'utf8', eol: '\r\n', finalNewline: false });
  });
});

describe('splitLines / encodeLines', () => {
  it('splits on CRLF or LF and remembers the final newline', () => {
    expect(splitLines('a\r\nb\r\n')).toEqual({ lines: ['a', 'b'], eol: '\r\n', finalNewline: true });
    expect(splitLines('a\nb')).toEqual({ lines: ['a', 'b'], eol: '\n', finalNewline: false });
    expect(splitLines('')).toEqual({ lines: [], eol: '\r\n', finalNewline: true });
    expect(splitLines('\n')).toEqual({ lines: [''], eol: '\n', finalNewline: true });
  });

  it('encodes back to the same bytes', () => {
    for (const [text, enc] of [
      ["' 本社\r\ntest.jp\r\n", 'cp932'],
      ["' 本社\ntest.jp", 'utf8'],
      ["' 本社\r\n", 'utf8bom'],
    ] as const) {
      const bytes = enc === 'cp932' ? iconv.encode(text, 'cp932') : Buffer.concat([enc === 'utf8bom' ? Buffer.from([0xef, 0xbb, 0xbf]) : Buffer.alloc(0), Buffer.from(text)]);
      const { text: t, format } = decodeText(bytes);
      expect(format.encoding).toBe(enc);
      expect(encodeLines(splitLines(t).lines, format).equals(bytes)).toBe(true);
    }
  });
});
