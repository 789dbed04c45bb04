/**
 * Media shown in the page: getmedia needs the bearer token, so the bytes are
 * fetched with it and shown from blob: URLs, one per mediaId, kept for the
 * most recently used few hundred (the browser's HTTP cache keeps the bytes
 * beyond that: getmedia's answers are immutable).
 */
import { useEffect, useState } from 'preact/hooks';
import { download } from '../api/client.ts';

const KEEP = 300;
const urls = new Map<string, Promise<string>>();
const sizes = new Map<string, { w: number; h: number }>();

function remember(mediaId: string, p: Promise<string>): Promise<string> {
  urls.delete(mediaId);
  urls.set(mediaId, p);
  while (urls.size > KEEP) {
    const [oldest, url] = urls.entries().next().value!;
    urls.delete(oldest);
    void url.then(URL.revokeObjectURL, () => undefined);
  }
  return p;
}

export function mediaUrl(mediaId: string): Promise<string> {
  const known = urls.get(mediaId);
  if (known) return remember(mediaId, known);
  const p = download(mediaId).then((b) => URL.createObjectURL(b));
  // A failure is not kept: the next render asks again.
  p.catch(() => urls.get(mediaId) === p && urls.delete(mediaId));
  return remember(mediaId, p);
}

/** A file this browser just uploaded: shown from memory, never downloaded again. */
export function primeMedia(mediaId: string, file: Blob): void {
  if (!urls.has(mediaId)) remember(mediaId, Promise.resolve(URL.createObjectURL(file)));
}

/** The blob: URL of a media id once fetched (undefined meanwhile), and whether fetching it failed. */
export function useMediaUrl(mediaId: string | undefined): { url?: string; failed: boolean } {
  const [got, setGot] = useState<{ id?: string; url?: string; failed: boolean }>({ failed: false });
  useEffect(() => {
    if (!mediaId) return;
    let live = true;
    mediaUrl(mediaId).then(
      (url) => live && setGot({ id: mediaId, url, failed: false }),
      () => live && setGot({ id: mediaId, failed: true }),
    );
    return () => {
      live = false;
    };
  }, [mediaId]);
  return got.id === mediaId ? { url: got.url, failed: got.failed } : { failed: false };
}

/** Natural sizes of images seen this session: a bubble takes its final size before the picture arrives again. */
export const imageSize = (mediaId: string) => sizes.get(mediaId);
export const rememberImageSize = (mediaId: string, w: number, h: number) => sizes.set(mediaId, { w, h });
