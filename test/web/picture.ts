/** A real picture for the browser tests: a PNG with a sky, a sun and hills, so a screenshot shows a photo-like image. */
import { crc32, deflateSync } from 'node:zlib';

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};

function chunk(type: string, data: Buffer): Buffer {
  const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  return Buffer.concat([u32(data.length), td, u32(crc32(td))]);
}

export function landscapePng(w = 480, h = 320): Buffer {
  const rows: Buffer[] = [];
  for (let y = 0; y < h; y++) {
    const row = Buffer.alloc(1 + w * 3);
    for (let x = 0; x < w; x++) {
      const t = y / h;
      let [r, g, b] = [90 + 120 * t, 150 + 70 * t, 235 - 20 * t];
      if ((x - w * 0.72) ** 2 + (y - h * 0.3) ** 2 < (h * 0.12) ** 2) [r, g, b] = [255, 214, 90];
      const hill1 = h * (0.68 + 0.08 * Math.sin(x / 60));
      const hill2 = h * (0.8 + 0.06 * Math.sin(x / 35 + 2));
      if (y > hill1) [r, g, b] = [76, 160 - 30 * ((y - hill1) / h), 80];
      if (y > hill2) [r, g, b] = [48, 120, 60];
      row.set(
        [r, g, b].map((v) => Math.max(0, Math.min(255, Math.round(v)))),
        1 + x * 3,
      );
    }
    rows.push(row);
  }
  const ihdr = Buffer.concat([u32(w), u32(h), Buffer.from([8, 2, 0, 0, 0])]);
  return Buffer.concat([
    Buffer.from('89504e470d0a1a0a', 'hex'),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
