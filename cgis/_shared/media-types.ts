/** Accepted media (SPEC §4 Media): kind, size limit and magic numbers of each Content-Type. */
const MiB = 1024 * 1024;

export type MediaKind = 'image' | 'voice' | 'video';

interface MediaType {
  kind: MediaKind;
  limit: number;
  /** True when the first bytes are this type's signature. */
  magic(head: Buffer): boolean;
}

const ascii = (head: Buffer, at: number, s: string) => head.subarray(at, at + s.length).toString('latin1') === s;

export const MEDIA_TYPES: Record<string, MediaType> = {
  'image/jpeg': { kind: 'image', limit: 10 * MiB, magic: (h) => h[0] === 0xff && h[1] === 0xd8 && h[2] === 0xff },
  'image/png': { kind: 'image', limit: 10 * MiB, magic: (h) => ascii(h, 0, '\x89PNG\r\n\x1a\n') },
  'image/gif': { kind: 'image', limit: 10 * MiB, magic: (h) => ascii(h, 0, 'GIF87a') || ascii(h, 0, 'GIF89a') },
  'image/webp': { kind: 'image', limit: 10 * MiB, magic: (h) => ascii(h, 0, 'RIFF') && ascii(h, 8, 'WEBP') },
  'audio/amr': { kind: 'voice', limit: 2 * MiB, magic: (h) => ascii(h, 0, '#!AMR') },
  'audio/ogg': { kind: 'voice', limit: 2 * MiB, magic: (h) => ascii(h, 0, 'OggS') },
  // An ID3 tag, or straight into an MPEG audio frame (11 sync bits).
  'audio/mpeg': { kind: 'voice', limit: 2 * MiB, magic: (h) => ascii(h, 0, 'ID3') || (h[0] === 0xff && (h[1]! & 0xe0) === 0xe0) },
  // What browsers record (MediaRecorder): an EBML header whose DocType is "webm".
  'audio/webm': {
    kind: 'voice',
    limit: 2 * MiB,
    magic: (h) => h.readUInt32BE(0) === 0x1a45dfa3 && h.subarray(4, 64).includes('webm', 0, 'latin1'),
  },
  'video/mp4': { kind: 'video', limit: 50 * MiB, magic: (h) => ascii(h, 4, 'ftyp') },
};

/** What raw-body CGIs declare: each type and its limit. */
export const UPLOAD_LIMITS: Record<string, number> = Object.fromEntries(Object.entries(MEDIA_TYPES).map(([t, m]) => [t, m.limit]));
