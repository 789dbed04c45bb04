/**
 * Recording a voice message with MediaRecorder (audio/webm with Opus, as
 * browsers record it): it starts when shown, and ends with Send (or at the
 * 60 s limit of SPEC §4) or Cancel. The microphone is released either way.
 */
import type { VNode } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { sendVoice } from '../state/outbox.ts';
import { notify } from '../state/store.ts';
import { duration } from './format.ts';
import { Icon } from './icons.tsx';

const LIMIT_MS = 60_000;

function recorderType(): string | undefined {
  for (const t of ['audio/webm;codecs=opus', 'audio/webm', 'audio/ogg;codecs=opus']) if (MediaRecorder.isTypeSupported(t)) return t;
  return undefined;
}

export function VoiceRecorder({ convKey, onDone }: { convKey: string; onDone(): void }): VNode {
  const [elapsed, setElapsed] = useState(0);
  const [ready, setReady] = useState(false);
  const rec = useRef<{ recorder: MediaRecorder; stream: MediaStream; started: number; send: boolean } | null>(null);
  const done = useRef(onDone);
  done.current = onDone;

  useEffect(() => {
    let cancelled = false;
    let tick: ReturnType<typeof setInterval> | undefined;
    (async () => {
      if (!navigator.mediaDevices?.getUserMedia || typeof MediaRecorder === 'undefined') {
        throw new Error('This browser cannot record here (voice needs HTTPS, or the server opened as localhost).');
      }
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      if (cancelled) return stream.getTracks().forEach((t) => t.stop());
      const type = recorderType();
      const recorder = new MediaRecorder(stream, type ? { mimeType: type } : undefined);
      const chunks: Blob[] = [];
      const r = { recorder, stream, started: performance.now(), send: false };
      rec.current = r;
      recorder.ondataavailable = (e) => e.data.size && chunks.push(e.data);
      recorder.onstop = () => {
        stream.getTracks().forEach((t) => t.stop());
        const ms = performance.now() - r.started;
        if (r.send && chunks.length) sendVoice(convKey, new Blob(chunks, { type: recorder.mimeType || type || 'audio/webm' }), ms);
        done.current();
      };
      recorder.start(250);
      setReady(true);
      tick = setInterval(() => {
        const ms = performance.now() - r.started;
        setElapsed(ms);
        if (ms >= LIMIT_MS) stop(true);
      }, 200);
    })().catch((e: Error) => {
      notify(e.name === 'NotAllowedError' ? 'Microphone access was refused.' : e.message);
      done.current();
    });
    return () => {
      cancelled = true;
      clearInterval(tick);
      const r = rec.current;
      if (r && r.recorder.state !== 'inactive') r.recorder.stop();
      r?.stream.getTracks().forEach((t) => t.stop());
    };
  }, []);

  function stop(send: boolean) {
    const r = rec.current;
    if (!r) return done.current();
    r.send = send;
    if (r.recorder.state !== 'inactive') r.recorder.stop();
  }

  return (
    <div class="composer recording" role="group" aria-label="Recording voice">
      <button type="button" class="icon-btn" aria-label="Cancel recording" onClick={() => stop(false)}>
        <Icon name="trash" />
      </button>
      <span class="rec-indicator" aria-live="off">
        <span class="rec-dot" aria-hidden="true" />
        {ready ? `Recording ${duration(Math.max(1000, elapsed))}` : 'Starting microphone…'}
      </span>
      <button type="button" class="btn primary send" disabled={!ready} onClick={() => stop(true)}>
        Send voice
      </button>
    </div>
  );
}
