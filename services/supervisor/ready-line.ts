// The children announce that they serve with one stdout line (docs/development.md):
// `ready ports=2525,2526` (receiver) or `ready` (delivery). Until then a child is 'starting'.

export interface ReadyInfo {
  ports: number[];
}

export function parseReadyLine(line: string): ReadyInfo | null {
  const m = /^ready(?:\s+(.*))?$/.exec(line.trim());
  if (!m) return null;
  const ports: number[] = [];
  for (const field of (m[1] ?? '').split(/\s+/)) {
    const [key, value] = field.split('=', 2);
    if (key !== 'ports' || !value) continue;
    for (const p of value.split(',')) {
      const n = Number(p);
      if (Number.isInteger(n) && n > 0 && n < 65536) ports.push(n);
    }
  }
  return { ports };
}
