/**
 * Real minimal media files, built byte by byte: each is a well-formed file of
 * its type (a decoder would take the PNG, GIF and WebP), not just a magic
 * number, so the suite does not pass on a check that only looks at one byte.
 */
import { createHash, randomBytes } from 'node:crypto';
import { crc32, deflateSync } from 'node:zlib';

const u32be = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};

function pngChunk(type: string, data: Buffer): Buffer {
  const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  return Buffer.concat([u32be(data.length), td, u32be(crc32(td))]);
}

/** A valid 1x1 RGBA PNG (one red pixel). */
export function png(): Buffer {
  const ihdr = Buffer.concat([u32be(1), u32be(1), Buffer.from([8, 6, 0, 0, 0])]);
  // One scanline: filter byte 0, then RGBA.
  const idat = deflateSync(Buffer.from([0, 0xff, 0, 0, 0xff]));
  return Buffer.concat([
    Buffer.from('89504e470d0a1a0a', 'hex'),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', idat),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** SOI, a JFIF APP0 segment, a comment, some bytes, EOI. */
export function jpeg(): Buffer {
  const app0 = Buffer.concat([
    Buffer.from([0xff, 0xe0, 0x00, 0x10]),
    Buffer.from('JFIF\0', 'latin1'),
    Buffer.from([1, 1, 0, 0, 1, 0, 1, 0, 0]),
  ]);
  const text = Buffer.from('cgihost test jpeg', 'latin1');
  const com = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from([0, text.length + 2]), text]);
  return Buffer.concat([Buffer.from([0xff, 0xd8]), app0, com, randomBytes(32), Buffer.from([0xff, 0xd9])]);
}

/** The classic 1x1 transparent GIF89a. */
export function gif(): Buffer {
  return Buffer.from('47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b', 'hex');
}

/** RIFF....WEBP holding a 1x1 lossless VP8L image (the one Modernizr decodes to detect WebP support). */
export function webp(): Buffer {
  return Buffer.from('UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==', 'base64');
}

/** AMR-NB: the '#!AMR\n' header and `frames` 12.2 kbit/s frames (32 bytes each, 20 ms). */
export function amr(frames = 10): Buffer {
  const parts = [Buffer.from('#!AMR\n', 'latin1')];
  for (let i = 0; i < frames; i++) parts.push(Buffer.from([0x3c]), randomBytes(31));
  return Buffer.concat(parts);
}

// Ogg's CRC-32: polynomial 0x04c11db7, not reflected, initial value 0.
const OGG_CRC = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let k = 0; k < 8; k++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    t[i] = r >>> 0;
  }
  return t;
})();
function oggCrc(b: Buffer): number {
  let crc = 0;
  for (const x of b) crc = ((crc << 8) ^ OGG_CRC[((crc >>> 24) ^ x) & 0xff]!) >>> 0;
  return crc;
}

/** One Ogg page (beginning of stream) carrying an OpusHead packet, then `padTo` bytes in total if asked. */
export function ogg(padTo = 0): Buffer {
  const opusHead = Buffer.concat([Buffer.from('OpusHead', 'latin1'), Buffer.from([1, 1, 0x38, 0x01, 0x80, 0xbb, 0, 0, 0, 0, 0])]);
  const header = Buffer.alloc(27);
  header.write('OggS', 0, 'latin1');
  header[4] = 0; // version
  header[5] = 2; // beginning of stream
  header.writeUInt32LE(0x1234abcd, 14); // serial
  header[26] = 1; // one segment
  const page = Buffer.concat([header, Buffer.from([opusHead.length]), opusHead]);
  page.writeUInt32LE(oggCrc(page), 22);
  return padTo > page.length ? Buffer.concat([page, randomBytes(padTo - page.length)]) : page;
}

/** An ID3v2.4 tag (empty) then one MPEG-1 Layer III frame, 128 kbit/s, 44.1 kHz (417 bytes). */
export function mp3(): Buffer {
  const id3 = Buffer.from([0x49, 0x44, 0x33, 4, 0, 0, 0, 0, 0, 0]);
  const frame = Buffer.concat([Buffer.from([0xff, 0xfb, 0x90, 0x00]), Buffer.alloc(413)]);
  return Buffer.concat([id3, frame]);
}

/** An 'ftyp' box (isom) then an 'mdat' box holding `payload` bytes (random unless given). */
export function mp4(payloadBytes = 64, payload?: Buffer): Buffer {
  const ftyp = Buffer.concat([u32be(24), Buffer.from('ftypisom', 'latin1'), u32be(0x200), Buffer.from('isommp41', 'latin1')]);
  const data = payload ?? randomBytes(payloadBytes);
  return Buffer.concat([ftyp, u32be(8 + data.length), Buffer.from('mdat', 'latin1'), data]);
}

/**
 * The start of a WebM file as Chrome's MediaRecorder writes it: an EBML header
 * (version 1, max ID length 4, max size length 8, DocType `docType`, DocType
 * version 4 and read version 2), then a Segment of unknown size holding `bytes`
 * random bytes.
 */
export function webm(docType = 'webm', bytes = 64): Buffer {
  const el = (id: number[], data: Buffer) => Buffer.concat([Buffer.from(id), Buffer.from([0x80 | data.length]), data]);
  const body = Buffer.concat([
    el([0x42, 0x86], Buffer.from([1])),
    el([0x42, 0xf7], Buffer.from([1])),
    el([0x42, 0xf2], Buffer.from([4])),
    el([0x42, 0xf3], Buffer.from([8])),
    el([0x42, 0x82], Buffer.from(docType, 'latin1')),
    el([0x42, 0x87], Buffer.from([4])),
    el([0x42, 0x85], Buffer.from([2])),
  ]);
  const header = Buffer.concat([Buffer.from([0x1a, 0x45, 0xdf, 0xa3, 0x80 | body.length]), body]);
  const segment = Buffer.from([0x18, 0x53, 0x80, 0x67, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
  return Buffer.concat([header, segment, randomBytes(bytes)]);
}

export function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Every accepted Content-Type with a minimal file of it and its kind. */
export function samples(): Array<{ contentType: string; kind: 'image' | 'voice' | 'video'; bytes: Buffer }> {
  return [
    { contentType: 'image/png', kind: 'image', bytes: png() },
    { contentType: 'image/jpeg', kind: 'image', bytes: jpeg() },
    { contentType: 'image/gif', kind: 'image', bytes: gif() },
    { contentType: 'image/webp', kind: 'image', bytes: webp() },
    { contentType: 'audio/amr', kind: 'voice', bytes: amr() },
    { contentType: 'audio/ogg', kind: 'voice', bytes: ogg() },
    { contentType: 'audio/mpeg', kind: 'voice', bytes: mp3() },
    { contentType: 'audio/webm', kind: 'voice', bytes: webm() },
    { contentType: 'video/mp4', kind: 'video', bytes: mp4() },
  ];
}

/**
 * A large mp4 as pieces to stream: an ftyp box, an mdat header, a shared
 * payload and an 8-byte tail unique to `n`, so each upload is new bytes
 * without building a new 50 MB buffer.
 */
export function bigMp4Parts(totalBytes: number, shared: Buffer | undefined, n: number): { parts: Buffer[]; shared: Buffer } {
  const payloadBytes = totalBytes - 32;
  const body = shared ?? Buffer.alloc(payloadBytes - 8, 'cgihost media payload ');
  const head = mp4(0, Buffer.alloc(0)).subarray(0, 24);
  const mdat = Buffer.concat([u32be(8 + payloadBytes), Buffer.from('mdat', 'latin1')]);
  const tail = Buffer.alloc(8);
  tail.writeBigUInt64BE(BigInt(n) ^ BigInt(Date.now()));
  return { parts: [head, mdat, body, tail], shared: body };
}
