/** Real pictures for the browser tests, made as PNG bytes: a landscape (so a screenshot shows a photo-like image) and profile pictures. */
import { crc32, deflateSync } from 'node:zlib';

type Rgb = [number, number, number];

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};

function chunk(type: string, data: Buffer): Buffer {
  const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  return Buffer.concat([u32(data.length), td, u32(crc32(td))]);
}

/** An RGB PNG whose pixel (x, y) is `paint(x, y)`. */
function png(w: number, h: number, paint: (x: number, y: number) => Rgb): Buffer {
  const rows: Buffer[] = [];
  for (let y = 0; y < h; y++) {
    const row = Buffer.alloc(1 + w * 3);
    for (let x = 0; x < w; x++)
      row.set(
        paint(x, y).map((v) => Math.max(0, Math.min(255, Math.round(v)))),
        1 + x * 3,
      );
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

export function landscapePng(w = 480, h = 320): Buffer {
  return png(w, h, (x, y) => {
    const t = y / h;
    let c: Rgb = [90 + 120 * t, 150 + 70 * t, 235 - 20 * t];
    if ((x - w * 0.72) ** 2 + (y - h * 0.3) ** 2 < (h * 0.12) ** 2) c = [255, 214, 90];
    const hill1 = h * (0.68 + 0.08 * Math.sin(x / 60));
    const hill2 = h * (0.8 + 0.06 * Math.sin(x / 35 + 2));
    if (y > hill1) c = [76, 160 - 30 * ((y - hill1) / h), 80];
    if (y > hill2) c = [48, 120, 60];
    return c;
  });
}

const rgb = (hex: string): Rgb => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)) as Rgb;

/** A profile picture: a head and shoulders on a coloured background. */
export function portrait(background: string, figure: string, size = 96): Buffer {
  const [bg, fg] = [rgb(background), rgb(figure)];
  return png(size, size, (x, y) => {
    const [u, v] = [x / size, y / size];
    const head = (u - 0.5) ** 2 + (v - 0.4) ** 2 < 0.18 ** 2;
    const shoulders = (u - 0.5) ** 2 / 0.36 ** 2 + (v - 1.05) ** 2 / 0.42 ** 2 < 1;
    return head || shoulders ? fg : bg;
  });
}
