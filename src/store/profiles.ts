/**
 * Profiles (SPEC §6): the name and avatar others see. A display name left unset
 * shows the username. An image set as someone's avatar may be downloaded by
 * every signed-in user (Media asks `users_by_avatar`).
 */
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import type { Tx } from './group-commit.js';
import { CgiError } from '../errors.js';
import type { Profile } from './api.js';
import type { Media } from './media.js';
import { codePointsAtMost, invalid } from './validate.js';

export const MAX_DISPLAY_NAME = 64;
export const MAX_PROFILES_ASKED = 100;

export interface ProfileRow {
  uid: string;
  username: string;
  display_name: string | null;
  avatar_media_id: string | null;
}

// C0 and C1 controls, and the bidi overrides that would let a name disguise itself.
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/u;

export class Profiles {
  private readonly byUid: Statement<[string], ProfileRow>;
  private readonly byName: Statement<[string], ProfileRow>;
  private readonly setName: Statement<[string, string]>;
  private readonly setAvatar: Statement<[string | null, string]>;

  constructor(
    db: Db,
    private readonly media: Media,
  ) {
    const cols = 'uid, username, display_name, avatar_media_id';
    this.byUid = db.prepare(`SELECT ${cols} FROM users WHERE uid = ?`);
    this.byName = db.prepare(`SELECT ${cols} FROM users WHERE username = ?`);
    this.setName = db.prepare('UPDATE users SET display_name = ? WHERE uid = ?');
    this.setAvatar = db.prepare('UPDATE users SET avatar_media_id = ? WHERE uid = ?');
  }

  setProfile(_tx: Tx, a: { uid: string; displayName?: string; avatarMediaId?: string | null }): Profile {
    if (typeof a.uid !== 'string' || !this.byUid.get(a.uid)) throw new CgiError('NO_SUCH_USER', 'no such user');
    if (a.displayName !== undefined) this.setName.run(checkDisplayName(a.displayName), a.uid);
    if (a.avatarMediaId === null) {
      this.setAvatar.run(null, a.uid);
    } else if (a.avatarMediaId !== undefined) {
      const rec = this.media.readableBy(a.uid, a.avatarMediaId);
      if (!rec) throw new CgiError('NO_SUCH_MEDIA', 'no such media');
      if (rec.kind !== 'image') throw new CgiError('MEDIA_KIND_MISMATCH', `an avatar is an image, not ${rec.kind}`);
      this.setAvatar.run(rec.mediaId, a.uid);
    }
    return toProfile(this.byUid.get(a.uid)!);
  }

  getProfiles(a: { uids: string[] }): { profiles: Profile[] } {
    if (!Array.isArray(a.uids) || a.uids.length > MAX_PROFILES_ASKED || a.uids.some((u) => typeof u !== 'string')) {
      invalid(`uids must be a list of at most ${MAX_PROFILES_ASKED} uids`);
    }
    const profiles: Profile[] = [];
    for (const uid of new Set(a.uids)) {
      const row = this.byUid.get(uid);
      if (row) profiles.push(toProfile(row));
    }
    return { profiles };
  }

  findUser(a: { username: string }): Profile {
    const row = typeof a.username === 'string' ? this.byName.get(a.username.trim().toLowerCase()) : undefined;
    if (!row) throw new CgiError('NO_SUCH_USER', 'no such user');
    return toProfile(row);
  }
}

/** The display name as stored (trimmed), or INVALID_INPUT (both engines). */
export function checkDisplayName(v: unknown): string {
  if (typeof v !== 'string') invalid('displayName must be a string');
  const name = v.trim();
  if (name.length === 0 || !codePointsAtMost(name, MAX_DISPLAY_NAME)) invalid(`displayName must be 1 to ${MAX_DISPLAY_NAME} characters`);
  if (!name.isWellFormed() || UNPRINTABLE.test(name)) invalid('displayName has characters that cannot be shown');
  return name;
}

export function toProfile(r: ProfileRow): Profile {
  const p: Profile = { uid: r.uid, username: r.username, displayName: r.display_name ?? r.username };
  if (r.avatar_media_id !== null) p.avatarMediaId = r.avatar_media_id;
  return p;
}
