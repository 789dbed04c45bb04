/** The user's own profile (SPEC §6): display name and avatar; and signing out. */
import type { VNode } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { call, upload } from '../api/client.ts';
import { rememberProfiles } from '../state/directory.ts';
import { signOut } from '../state/lifecycle.ts';
import { primeMedia } from '../state/media.ts';
import { notify, useAppState } from '../state/store.ts';
import { Avatar } from './avatar.tsx';
import { Icon } from './icons.tsx';

const IMAGE_TYPES = ['image/jpeg', 'image/png', 'image/gif', 'image/webp'];

export function ProfilePane(): VNode {
  const session = useAppState((s) => s.session);
  const profile = useAppState((s) => s.profiles[s.session?.uid ?? '']);
  const [name, setName] = useState(profile?.displayName ?? '');
  const [busy, setBusy] = useState(false);
  useEffect(() => setName(profile?.displayName ?? ''), [profile?.displayName]);
  if (!session) return <div class="pane" />;

  async function save(e: Event) {
    e.preventDefault();
    const displayName = name.trim();
    if (!displayName || displayName === profile?.displayName) return;
    setBusy(true);
    try {
      rememberProfiles([await call('setprofile', { displayName })]);
      notify('Profile saved.', 'info');
    } catch (err) {
      notify(String((err as Error).message));
    } finally {
      setBusy(false);
    }
  }

  async function setAvatar(file: File) {
    if (!IMAGE_TYPES.includes(file.type)) return notify('Choose a JPEG, PNG, GIF or WebP picture.');
    if (file.size > 10 * 1024 * 1024) return notify('The picture is larger than 10 MB.');
    setBusy(true);
    try {
      const { mediaId } = await upload(file, file.type);
      primeMedia(mediaId, file);
      rememberProfiles([await call('setprofile', { avatarMediaId: mediaId })]);
    } catch (err) {
      notify(String((err as Error).message));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div class="pane">
      <header class="pane-head">
        <h1>Me</h1>
      </header>
      <div class="pane-scroll">
        <div class="info-card">
          <span class="avatar-edit">
            <Avatar id={session.uid} name={profile?.displayName || session.username} mediaId={profile?.avatarMediaId} size={96} />
            <span class="avatar-edit-btn" title="Change photo">
              <Icon name="camera" size={18} />
              <input
                type="file"
                aria-label="Change photo"
                accept={IMAGE_TYPES.join(',')}
                disabled={busy}
                onChange={(e) => {
                  const f = e.currentTarget.files?.[0];
                  e.currentTarget.value = '';
                  if (f) void setAvatar(f);
                }}
              />
            </span>
          </span>
          <h3>{profile?.displayName || session.username}</h3>
          <p class="muted">@{session.username}</p>
        </div>
        <form class="profile-form" onSubmit={(e) => void save(e)}>
          <label class="field">
            <span>Display name</span>
            <input value={name} maxLength={64} onInput={(e) => setName(e.currentTarget.value)} />
          </label>
          <button type="submit" class="btn primary" disabled={busy || !name.trim() || name.trim() === profile?.displayName}>
            Save
          </button>
        </form>
        <button type="button" class="btn danger-ghost wide" onClick={() => void signOut()}>
          <Icon name="logout" size={18} /> Sign out
        </button>
      </div>
    </div>
  );
}
