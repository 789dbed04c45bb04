/**
 * Media: content-addressed files in `<dataDir>/media/<aa>/<sha256>` and who may
 * read them. A file is moved into place with one rename after an fsync, so no
 * half file is ever under its final name; the same bytes are stored once.
 * The file work is asynchronous and runs before the database write, so a big
 * upload never holds the writer.
 */
import { constants } from 'node:fs';
import { copyFile, mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import type { Tx } from './group-commit.js';
import { CgiError } from '../errors.js';
import type { MediaRecord } from './api.js';
import { isMediaId } from './ids.js';
import { invalid, isIntIn, requireString } from './validate.js';

export type MediaKind = MediaRecord['kind'];
/** The msg_id of an uploader's access (no message brought it; never revoked). */
const UPLOAD = 0;
const KINDS: ReadonlySet<string> = new Set<MediaKind>(['image', 'voice', 'video']);

export interface PutMediaArgs {
  uploader: string;
  tempPath: string;
  sha256: string;
  kind: MediaKind;
  contentType: string;
  size: number;
}

export class Media {
  private readonly dir: string;
  private readonly get: Statement<[string], MediaRecord>;
  private readonly insert: Statement<[string, string, string, number, number]>;
  private readonly insertGrant: Statement<[string, string, number]>;
  private readonly deleteGrantsVia: Statement<[string, number]>;
  private readonly readable: Statement<[{ uid: string; mediaId: string }], MediaRecord>;

  /** `mediaDir`: where the files live (options.ts mediaDirOf). */
  constructor(db: Db, mediaDir: string) {
    this.dir = mediaDir;
    const cols = 'm.media_id AS mediaId, m.kind, m.content_type AS contentType, m.size';
    this.get = db.prepare(`SELECT ${cols} FROM media m WHERE m.media_id = ?`);
    this.insert = db.prepare('INSERT INTO media (media_id, kind, content_type, size, created_at) VALUES (?, ?, ?, ?, ?)');
    this.insertGrant = db.prepare('INSERT OR IGNORE INTO media_access (media_id, uid, msg_id) VALUES (?, ?, ?)');
    this.deleteGrantsVia = db.prepare('DELETE FROM media_access WHERE media_id = ? AND msg_id = ?');
    // Readable: uploaded by the user, brought to them by a message (not recalled), or someone's avatar.
    this.readable = db.prepare(
      `SELECT ${cols} FROM media m
        WHERE m.media_id = @mediaId
          AND (EXISTS (SELECT 1 FROM media_access a WHERE a.media_id = @mediaId AND a.uid = @uid)
               OR EXISTS (SELECT 1 FROM users u WHERE u.avatar_media_id = @mediaId))`,
    );
  }

  /** Only ever called with a checked media id: the path cannot leave the media folder. */
  pathOf(mediaId: string): string {
    return mediaPath(this.dir, mediaId);
  }

  /** Step 1 of putMedia, outside any transaction: checks the temp file and moves it into place. */
  async place(a: PutMediaArgs): Promise<void> {
    await placeMedia(this.dir, a);
  }

  /** Step 2 of putMedia, in a write: records the file (if new) and the uploader's access. */
  record(tx: Tx, a: PutMediaArgs): MediaRecord {
    let rec = this.get.get(a.sha256);
    if (!rec) {
      this.insert.run(a.sha256, a.kind, a.contentType, a.size, tx.now);
      rec = { mediaId: a.sha256, kind: a.kind, contentType: a.contentType, size: a.size };
    }
    this.insertGrant.run(a.sha256, a.uploader, UPLOAD);
    return rec;
  }

  /** `uid` got message `msgRowId`, which references the media. */
  grant(mediaId: string, uid: string, msgRowId: number): void {
    this.insertGrant.run(mediaId, uid, msgRowId);
  }

  /** Message `msgRowId` was recalled: nobody reads the media through it any more. */
  revokeVia(mediaId: string, msgRowId: number): void {
    this.deleteGrantsVia.run(mediaId, msgRowId);
  }

  /** The record if `uid` may read the media, else undefined. */
  readableBy(uid: string, mediaId: unknown): MediaRecord | undefined {
    if (!isMediaId(mediaId)) return undefined;
    return this.readable.get({ uid, mediaId });
  }

  open(a: { uid: string; mediaId: string }): MediaRecord & { path: string } {
    const rec = typeof a.uid === 'string' ? this.readableBy(a.uid, a.mediaId) : undefined;
    if (!rec) throw new CgiError('NO_SUCH_MEDIA', 'no such media');
    return { ...rec, path: this.pathOf(rec.mediaId) };
  }
}

/** Only ever called with a checked media id: the path cannot leave the media folder. */
export function mediaPath(dir: string, mediaId: string): string {
  return join(dir, mediaId.slice(0, 2), mediaId);
}

/**
 * Step 1 of putMedia, whatever the engine, outside any transaction: checks the
 * temp file and moves it into place in the media folder `dir`.
 */
export async function placeMedia(dir: string, a: PutMediaArgs): Promise<void> {
  if (!isMediaId(a.sha256)) invalid('sha256 must be 64 lowercase hex digits');
  if (!KINDS.has(a.kind)) invalid('kind must be image, voice or video');
  requireString(a.contentType, 'contentType', 255);
  requireString(a.tempPath, 'tempPath', 4096);
  if (!isIntIn(a.size, 0, Number.MAX_SAFE_INTEGER)) invalid('size must be a byte count');
  const st = await stat(a.tempPath).catch(() => null);
  if (!st?.isFile()) invalid('the uploaded file is missing');
  if (st.size !== a.size) invalid(`the uploaded file has ${st.size} bytes, not ${a.size}`);
  const dest = mediaPath(dir, a.sha256);
  if (await exists(dest)) {
    // The same bytes are already stored: keep the old file.
    await unlink(a.tempPath).catch(() => undefined);
    return;
  }
  await mkdir(join(dir, a.sha256.slice(0, 2)), { recursive: true });
  await fsyncFile(a.tempPath);
  try {
    await rename(a.tempPath, dest);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    // The temp file is on another file system: copy beside the target, then rename.
    const tmp = `${dest}.${randomBytes(6).toString('hex')}.tmp`;
    await copyFile(a.tempPath, tmp, constants.COPYFILE_FICLONE);
    await fsyncFile(tmp);
    await rename(tmp, dest);
    await unlink(a.tempPath).catch(() => undefined);
  }
  await fsyncFile(join(dir, a.sha256.slice(0, 2)));
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function fsyncFile(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
