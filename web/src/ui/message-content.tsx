/**
 * Pictures inline, voice with a play button and its duration, video on
 * demand. Media come from getmedia through blob: URLs (state/media.ts); a
 * message still being sent shows the user's own file.
 */
import type { VNode } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { imageSize, mediaUrl, rememberImageSize, useMediaUrl } from '../state/media.ts';
import { duration, spokenDuration } from './format.ts';
import { Icon } from './icons.tsx';
import { Lightbox } from './lightbox.tsx';

/** A blob: URL for a local file, revoked when the component goes. */
function useObjectUrl(file: Blob | undefined): string | undefined {
  const url = useMemo(() => (file ? URL.createObjectURL(file) : undefined), [file]);
  useEffect(() => () => url && URL.revokeObjectURL(url), [url]);
  return url;
}

const MAX_W = 260;
const MAX_H = 320;

function fit(w: number, h: number): { width: number; height: number } {
  const scale = Math.min(1, MAX_W / w, MAX_H / h);
  return { width: Math.max(60, Math.round(w * scale)), height: Math.max(60, Math.round(h * scale)) };
}

export function ImageContent({ mediaId, file }: { mediaId?: string; file?: Blob }): VNode {
  const local = useObjectUrl(file);
  const { url, failed } = useMediaUrl(local ? undefined : mediaId);
  const [natural, setNatural] = useState(() => (mediaId ? imageSize(mediaId) : undefined));
  const [open, setOpen] = useState(false);
  const src = local ?? url;
  const box = natural ? fit(natural.w, natural.h) : { width: 240, height: 180 };
  return (
    <>
      <button type="button" class="media-btn" aria-label="Open picture" onClick={() => src && setOpen(true)}>
        {src ? (
          <img
            src={src}
            alt="Picture"
            style={{ width: `${box.width}px`, height: `${box.height}px` }}
            onLoad={(e) => {
              const img = e.currentTarget;
              if (mediaId) rememberImageSize(mediaId, img.naturalWidth, img.naturalHeight);
              if (!natural) setNatural({ w: img.naturalWidth, h: img.naturalHeight });
            }}
          />
        ) : (
          <span class="media-placeholder" style={{ width: `${box.width}px`, height: `${box.height}px` }}>
            {failed ? 'Picture unavailable' : <span class="spinner" aria-hidden="true" />}
          </span>
        )}
      </button>
      {open && src && <Lightbox src={src} onClose={() => setOpen(false)} />}
    </>
  );
}

export function VideoContent({ mediaId, file }: { mediaId?: string; file?: Blob }): VNode {
  const local = useObjectUrl(file);
  const [wanted, setWanted] = useState(false);
  const { url, failed } = useMediaUrl(wanted && !local ? mediaId : undefined);
  // A poster until asked for: a list of videos should not download (or start) every one of them.
  const src = wanted ? (local ?? url) : undefined;
  if (src) return <video class="video-el" src={src} controls autoPlay playsInline aria-label="Video" />;
  return (
    <button type="button" class="video-poster" aria-label="Play video" onClick={() => setWanted(true)}>
      {wanted && !failed ? <span class="spinner light" aria-hidden="true" /> : <Icon name="play" size={34} class="fill" />}
      <span>{failed ? 'Video unavailable' : 'Video'}</span>
    </button>
  );
}

/** Bars of a waveform drawn from the media id, so each clip looks its own and the same every time. */
function bars(seed: string, n: number): number[] {
  let h = 2166136261;
  for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 16777619);
  return Array.from({ length: n }, () => {
    h = Math.imul(h ^ (h >>> 15), 2246822507) >>> 0;
    return 25 + (h % 75);
  });
}

export function VoiceContent({ mediaId, file, durationMs }: { mediaId?: string; file?: Blob; durationMs: number }): VNode {
  const local = useObjectUrl(file);
  const [src, setSrc] = useState<string | undefined>(undefined);
  const [state, setState] = useState<'idle' | 'loading' | 'playing' | 'paused' | 'ended' | 'error'>('idle');
  const [progress, setProgress] = useState(0);
  const audio = useRef<HTMLAudioElement>(null);
  const heights = useMemo(() => bars(mediaId ?? 'local', Math.min(36, 16 + Math.round(durationMs / 2000))), [mediaId, durationMs]);

  useEffect(() => {
    if (src && state === 'loading') audio.current?.play().catch(() => setState('error'));
  }, [src]);

  async function toggle() {
    const a = audio.current;
    if (state === 'playing') return a?.pause();
    if (src && a) {
      if (state === 'ended') a.currentTime = 0;
      return a.play().catch(() => setState('error'));
    }
    setState('loading');
    try {
      setSrc(local ?? (await mediaUrl(mediaId!)));
    } catch {
      setState('error');
    }
  }

  const playing = state === 'playing';
  return (
    <div class={`voice-clip ${state}`}>
      <button
        type="button"
        class="voice-play"
        aria-label={playing ? 'Pause voice clip' : `Play voice clip, ${spokenDuration(durationMs)}`}
        aria-pressed={playing}
        data-state={state}
        onClick={() => void toggle()}
      >
        {state === 'loading' ? (
          <span class="spinner" aria-hidden="true" />
        ) : (
          <Icon name={playing ? 'pause' : 'play'} size={18} class="fill" />
        )}
      </button>
      <span class="wave" aria-hidden="true">
        {heights.map((h, i) => (
          <span key={i} class={i / heights.length < progress ? 'on' : ''} style={{ height: `${h}%` }} />
        ))}
      </span>
      <span class="voice-dur">{state === 'error' ? 'Cannot play' : duration(durationMs)}</span>
      {src && (
        <audio
          ref={audio}
          src={src}
          preload="auto"
          onPlaying={() => setState('playing')}
          onPause={(e) => !e.currentTarget.ended && setState('paused')}
          onEnded={() => {
            setState('ended');
            setProgress(1);
          }}
          onTimeUpdate={(e) => setProgress(Math.min(1, e.currentTarget.currentTime / Math.max(0.001, durationMs / 1000)))}
          onError={() => setState('error')}
        />
      )}
    </div>
  );
}
