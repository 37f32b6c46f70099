// Where a key path sits in a JSON text, so a settings.json error can name its line and column
// (`settings.json:7:5: error: receiver.ports.0: ...`). Only ever run on text JSON.parse accepted.

export interface JsonPosition {
  line: number;
  column: number;
}

/** Positions of every key path: object members at their key, array items at their value. */
export function locateJsonPaths(text: string): Map<string, JsonPosition> {
  const out = new Map<string, JsonPosition>();
  let i = 0;
  const ws = () => {
    while (i < text.length && /[\s\ufeff]/.test(text[i])) i++;
  };
  const str = () => {
    const start = i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (path: string[]): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') return void i++;
      for (let n = 0; n < 100_000 && i < text.length; n++) {
        ws();
        const at = i;
        const key = str();
        out.set([...path, key].join('.'), position(text, at));
        ws();
        i++; // ':'
        value([...path, key]);
        ws();
        if (text[i++] === '}') return;
      }
    } else if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') return void i++;
      for (let n = 0; i < text.length; n++) {
        ws();
        out.set([...path, String(n)].join('.'), position(text, i));
        value([...path, String(n)]);
        ws();
        if (text[i++] === ']') return;
      }
    } else if (c === '"') {
      str();
    } else {
      while (i < text.length && !/[\s,\]}]/.test(text[i])) i++;
    }
  };
  value([]);
  return out;
}

/** 1-based line and column of a character offset. */
export function position(text: string, offset: number): JsonPosition {
  let line = 1;
  let last = -1;
  for (let k = 0; k < offset && k < text.length; k++) {
    if (text[k] === '\n') {
      line++;
      last = k;
    }
  }
  return { line, column: offset - last };
}
