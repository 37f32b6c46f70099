// Draws the Sekisho icon (a checkpoint gate — 関所 — in white on the app's navy) as a
// 256x256 PNG with no dependencies, so the icon is reproducible: node make-icon.mjs
import { deflateSync } from 'node:zlib';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const S = 256;
const px = Buffer.alloc(S * S * 4);
const NAVY = [0x23, 0x39, 0x5d, 255];
const WHITE = [255, 255, 255, 255];
const RED = [0xc6, 0x28, 0x28, 255];

function rect(x0, y0, x1, y1, c) {
  for (let y = Math.max(0, y0); y < Math.min(S, y1); y++)
    for (let x = Math.max(0, x0); x < Math.min(S, x1); x++) px.set(c, (y * S + x) * 4);
}
// Rounded navy square.
const R = 40;
for (let y = 0; y < S; y++)
  for (let x = 0; x < S; x++) {
    const cx = x < R ? R : x >= S - R ? S - R - 1 : x;
    const cy = y < R ? R : y >= S - R ? S - R - 1 : y;
    if ((x - cx) ** 2 + (y - cy) ** 2 <= R * R) px.set(NAVY, (y * S + x) * 4);
  }
// The gate: a top beam with overhang, a tie beam, two posts, and the barrier bar in red.
rect(30, 52, 226, 74, WHITE);
rect(48, 74, 208, 84, WHITE);
rect(56, 100, 200, 114, WHITE);
rect(70, 74, 94, 216, WHITE);
rect(162, 74, 186, 216, WHITE);
rect(94, 150, 162, 164, RED);

const crcTable = new Int32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});
function crc32(buf) {
  let c = -1;
  for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}
const ihdr = Buffer.alloc(13);
ihdr.writeUInt32BE(S, 0);
ihdr.writeUInt32BE(S, 4);
ihdr[8] = 8; // bit depth
ihdr[9] = 6; // RGBA
const raw = Buffer.alloc(S * (S * 4 + 1));
for (let y = 0; y < S; y++) px.copy(raw, y * (S * 4 + 1) + 1, y * S * 4, (y + 1) * S * 4);
const png = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  chunk('IHDR', ihdr),
  chunk('IDAT', deflateSync(raw, { level: 9 })),
  chunk('IEND', Buffer.alloc(0)),
]);
writeFileSync(fileURLToPath(new URL('./icon.png', import.meta.url)), png);
