/**
 * Writing: the Message field (Enter sends, Shift+Enter starts a new line),
 * Send, Attach (a file input for pictures and video: a picker, a paste or a
 * drop), and the microphone for a voice message.
 */
import type { VNode } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { sendFile, sendText } from '../state/outbox.ts';
import { notify } from '../state/store.ts';
import { Icon } from './icons.tsx';
import { VoiceRecorder } from './voice-recorder.tsx';

const IMAGE_TYPES = ['image/jpeg', 'image/png', 'image/gif', 'image/webp'];
const MiB = 1024 * 1024;
const drafts = new Map<string, string>();

/** Sends each file the host accepts as a picture or a video; says why about the others. */
export function sendFiles(convKey: string, files: Iterable<File>): void {
  for (const f of files) {
    if (IMAGE_TYPES.includes(f.type)) {
      if (f.size > 10 * MiB) notify(`${f.name} is larger than 10 MB.`);
      else sendFile(convKey, f, 'image');
    } else if (f.type === 'video/mp4') {
      if (f.size > 50 * MiB) notify(`${f.name} is larger than 50 MB.`);
      else sendFile(convKey, f, 'video');
    } else {
      notify(`${f.name}: only pictures (JPEG, PNG, GIF, WebP) and MP4 videos can be sent.`);
    }
  }
}

export function Composer({ convKey }: { convKey: string }): VNode {
  const [text, setText] = useState(() => drafts.get(convKey) ?? '');
  const [recording, setRecording] = useState(false);
  const field = useRef<HTMLTextAreaElement>(null);

  useEffect(() => {
    // On a phone the keyboard would cover the conversation the user just opened.
    if (window.matchMedia('(min-width: 721px)').matches) field.current?.focus();
  }, []);
  useEffect(() => {
    drafts.set(convKey, text);
    const el = field.current;
    if (el) {
      el.style.height = 'auto';
      el.style.height = `${Math.min(el.scrollHeight, 160)}px`;
    }
  }, [text]);

  function submit() {
    const content = text.trim();
    if (!content) return;
    if ([...content].length > 4096) {
      notify('A message is at most 4096 characters.');
      return;
    }
    sendText(convKey, content);
    setText('');
    field.current?.focus();
  }

  if (recording) return <VoiceRecorder convKey={convKey} onDone={() => setRecording(false)} />;
  return (
    <form
      class="composer"
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
      onDragOver={(e) => e.preventDefault()}
      onDrop={(e) => {
        if (!e.dataTransfer?.files.length) return;
        e.preventDefault();
        sendFiles(convKey, e.dataTransfer.files);
      }}
    >
      <span class="attach icon-btn" title="Send a picture or video">
        <Icon name="attach" />
        <input
          type="file"
          aria-label="Attach"
          accept={[...IMAGE_TYPES, 'video/mp4'].join(',')}
          multiple
          onChange={(e) => {
            const input = e.currentTarget;
            if (input.files) sendFiles(convKey, [...input.files]);
            input.value = '';
          }}
        />
      </span>
      <textarea
        ref={field}
        aria-label="Message"
        placeholder="Message"
        rows={1}
        value={text}
        enterkeyhint="send"
        onInput={(e) => setText(e.currentTarget.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
            e.preventDefault();
            submit();
          }
        }}
        onPaste={(e) => {
          const files = [...(e.clipboardData?.files ?? [])];
          if (!files.length) return;
          e.preventDefault();
          sendFiles(convKey, files);
        }}
      />
      <button type="button" class="icon-btn" aria-label="Record voice" title="Record a voice message" onClick={() => setRecording(true)}>
        <Icon name="mic" />
      </button>
      <button type="submit" class="btn primary send" disabled={!text.trim()}>
        Send
      </button>
    </form>
  );
}
