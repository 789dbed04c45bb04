/**
 * Media records on PostgreSQL (media.ts): the files are placed in the media
 * folder by the same code as SQLite's (placeMedia; several hosts share one
 * folder), and recorded here with who may read them (media_access).
 */
import { CgiError } from '../../errors.js';
import type { MediaRecord } from '../api.js';
import { isMediaId } from '../ids.js';
import { mediaPath, placeMedia, type PutMediaArgs } from '../media.js';
import type { PgDb, PgTx } from './db.js';
import type { Queryable } from './schema.js';
import { rowsOf } from './accounts.js';

/** The msg_id of an uploader's access (no message brought it; never revoked). */
const UPLOAD = 0;
const COLS = 'm.media_id AS "mediaId", m.kind, m.content_type AS "contentType", m.size';

type Rec = MediaRecord & Record<string, unknown>;

export class PgMedia {
  constructor(
    private readonly db: PgDb,
    readonly dir: string,
  ) {}

  pathOf(mediaId: string): string {
    return mediaPath(this.dir, mediaId);
  }

  place(a: PutMediaArgs): Promise<void> {
    return placeMedia(this.dir, a);
  }

  async record(tx: PgTx, a: PutMediaArgs): Promise<MediaRecord> {
    await tx.query(
      'INSERT INTO media (media_id, kind, content_type, size, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (media_id) DO NOTHING',
      [a.sha256, a.kind, a.contentType, a.size, tx.now],
    );
    await this.grant(tx, a.sha256, a.uploader, UPLOAD);
    const { rows } = await tx.query<Rec>(`SELECT ${COLS} FROM media m WHERE m.media_id = $1`, [a.sha256]);
    return plain(rows[0]!);
  }

  /** `uid` got message `msgRowId`, which references the media. */
  async grant(tx: PgTx, mediaId: string, uid: string, msgRowId: number): Promise<void> {
    await tx.query('INSERT INTO media_access (media_id, uid, msg_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [mediaId, uid, msgRowId]);
  }

  /** Message `msgRowId` was recalled: nobody reads the media through it any more. */
  async revokeVia(tx: PgTx, mediaId: string, msgRowId: number): Promise<void> {
    await tx.query('DELETE FROM media_access WHERE media_id = $1 AND msg_id = $2', [mediaId, msgRowId]);
  }

  /** The record if `uid` may read the media: uploaded by them, brought by a message (not recalled), or someone's avatar. */
  async readableBy(uid: string, mediaId: unknown, q: Queryable | PgDb = this.db): Promise<MediaRecord | undefined> {
    if (!isMediaId(mediaId)) return undefined;
    const rows = await rowsOf<Rec>(
      q,
      `SELECT ${COLS} FROM media m
        WHERE m.media_id = $1
          AND (EXISTS (SELECT 1 FROM media_access a WHERE a.media_id = $1 AND a.uid = $2)
               OR EXISTS (SELECT 1 FROM users u WHERE u.avatar_media_id = $1))`,
      [mediaId, uid],
    );
    return rows[0] ? plain(rows[0]) : undefined;
  }

  async open(a: { uid: string; mediaId: string }): Promise<MediaRecord & { path: string }> {
    const rec = typeof a.uid === 'string' ? await this.readableBy(a.uid, a.mediaId) : undefined;
    if (!rec) throw new CgiError('NO_SUCH_MEDIA', 'no such media');
    return { ...rec, path: this.pathOf(rec.mediaId) };
  }
}

function plain(r: Rec): MediaRecord {
  return { mediaId: r.mediaId, kind: r.kind, contentType: r.contentType, size: r.size };
}
