import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { storeUsers, readAll, ENGINES, openEngine, skipEngine, type Engine, type OpenedEngine } from './support.js';
import { pgSkipNote } from '../helpers/postgres.js';

pgSkipNote('media.test');
import { tempDir } from '../helpers/index.js';

let o: OpenedEngine;
afterEach(async () => {
  await o?.cleanup();
});

const uploads = tempDir('cgihost-uploads-');
afterAll(() => rmSync(uploads, { recursive: true, force: true }));
let n = 0;
function upload(uploader: string, bytes: Buffer, kind: 'image' | 'voice' | 'video', contentType: string) {
  const tempPath = join(uploads, `up-${++n}`);
  writeFileSync(tempPath, bytes);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return { uploader, tempPath, sha256, kind, contentType, size: bytes.length };
}
const PNG = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.from('fake png body')]);
const OGG = Buffer.concat([Buffer.from('OggS'), Buffer.from('fake voice')]);

describe.each(ENGINES)('%s', (engine: Engine) => {
  const open = (opts = {}) => openEngine(engine, opts);
  describe.skipIf(skipEngine(engine))('engine', () => {
    describe('media', () => {
      it('moves an upload into content-addressed storage and stores the same bytes once', async () => {
        o = await open();
        const [a, b] = await storeUsers(o.store, 2);
        const first = upload(a!, PNG, 'image', 'image/png');
        const rec = await o.store.putMedia(first);
        expect(rec).toEqual({ mediaId: first.sha256, kind: 'image', contentType: 'image/png', size: PNG.length });
        const path = join(o.dir, 'media', first.sha256.slice(0, 2), first.sha256);
        expect(readFileSync(path)).toEqual(PNG);
        expect(existsSync(first.tempPath)).toBe(false);
        // b uploads the same bytes: no new file, the temp file is removed, b may read it too.
        const second = upload(b!, PNG, 'image', 'image/png');
        expect(await o.store.putMedia(second)).toEqual(rec);
        expect(existsSync(second.tempPath)).toBe(false);
        expect(await o.store.openMedia({ uid: b!, mediaId: rec.mediaId })).toEqual({ ...rec, path });
      });

      it('refuses a temp file whose size is not the declared one, and a malformed sha256', async () => {
        o = await open();
        const [a] = await storeUsers(o.store, 1);
        await expect(o.store.putMedia({ ...upload(a!, PNG, 'image', 'image/png'), size: 3 })).rejects.toMatchObject({
          code: 'INVALID_INPUT',
        });
        await expect(o.store.putMedia({ ...upload(a!, PNG, 'image', 'image/png'), sha256: '../../etc' })).rejects.toMatchObject({
          code: 'INVALID_INPUT',
        });
      });

      it('lets the uploader and the recipients of a message read it, nobody else', async () => {
        o = await open();
        const [a, b, c, d, e] = await storeUsers(o.store, 5);
        const rec = await o.store.putMedia(upload(a!, PNG, 'image', 'image/png'));
        await expect(o.store.openMedia({ uid: b!, mediaId: rec.mediaId })).rejects.toMatchObject({ code: 'NO_SUCH_MEDIA' });
        // b cannot send what b may not read.
        await expect(
          o.store.sendMessage({ from: b!, to: c!, type: 'image', mediaId: rec.mediaId, clientMsgId: 'x' }),
        ).rejects.toMatchObject({
          code: 'NO_SUCH_MEDIA',
        });
        const sent = await o.store.sendMessage({ from: a!, to: b!, type: 'image', mediaId: rec.mediaId, clientMsgId: 'img' });
        expect((await readAll(o.store, b!))[0]).toEqual({
          seq: 1,
          msgId: sent.msgId,
          from: a,
          to: b,
          type: 'image',
          mediaId: rec.mediaId,
          createdAt: sent.createdAt,
        });
        expect((await o.store.openMedia({ uid: b!, mediaId: rec.mediaId })).mediaId).toBe(rec.mediaId);
        // Forwarding: b sends it on without uploading, and c may read it.
        await o.store.sendMessage({ from: b!, to: c!, type: 'image', mediaId: rec.mediaId, clientMsgId: 'fwd' });
        expect((await o.store.openMedia({ uid: c!, mediaId: rec.mediaId })).kind).toBe('image');
        // Through a group: every member gets access with the fan-out.
        const g = await o.store.createGroup({ owner: c!, name: 'pics', members: [d!] });
        await o.store.sendMessage({ from: c!, groupId: g.groupId, type: 'image', mediaId: rec.mediaId, clientMsgId: 'grp' });
        await o.store.whenIdle();
        expect((await o.store.openMedia({ uid: d!, mediaId: rec.mediaId })).size).toBe(PNG.length);
        await expect(o.store.openMedia({ uid: e!, mediaId: rec.mediaId })).rejects.toMatchObject({ code: 'NO_SUCH_MEDIA' });
        for (const bad of ['../../cgihost.db', rec.mediaId.toUpperCase(), rec.mediaId + '/x', '']) {
          await expect(o.store.openMedia({ uid: a!, mediaId: bad })).rejects.toMatchObject({ code: 'NO_SUCH_MEDIA' });
        }
      });

      it('checks the media kind of voice, image and video messages', async () => {
        o = await open();
        const [a, b] = await storeUsers(o.store, 2);
        const voice = await o.store.putMedia(upload(a!, OGG, 'voice', 'audio/ogg'));
        const image = await o.store.putMedia(upload(a!, PNG, 'image', 'image/png'));
        await expect(
          o.store.sendMessage({ from: a!, to: b!, type: 'voice', mediaId: image.mediaId, durationMs: 1200, clientMsgId: 'v1' }),
        ).rejects.toMatchObject({ code: 'MEDIA_KIND_MISMATCH' });
        await expect(
          o.store.sendMessage({ from: a!, to: b!, type: 'video', mediaId: voice.mediaId, clientMsgId: 'v2' }),
        ).rejects.toMatchObject({
          code: 'MEDIA_KIND_MISMATCH',
        });
        await expect(
          o.store.sendMessage({ from: a!, to: b!, type: 'voice', mediaId: voice.mediaId, clientMsgId: 'v3' }),
        ).rejects.toMatchObject({
          code: 'INVALID_INPUT',
        });
        const ok = await o.store.sendMessage({
          from: a!,
          to: b!,
          type: 'voice',
          mediaId: voice.mediaId,
          durationMs: 1200,
          clientMsgId: 'v4',
        });
        expect((await readAll(o.store, b!)).map((m) => [m.msgId, m.type, m.mediaId, m.durationMs])).toEqual([
          [ok.msgId, 'voice', voice.mediaId, 1200],
        ]);
      });
    });
  });
});
