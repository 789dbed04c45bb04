/**
 * A full disk (SPEC §10), made for real: the data dir is a 20 MB tmpfs
 * (`mount -t tmpfs`, as root; skipped with a message where mounting is not
 * permitted), filled up with a file while the host serves. Writes then answer
 * 503 STORE_UNAVAILABLE at once (never 500, never a hang), uploads too; reads
 * go on; once the file is removed, writes succeed again with no restart; and
 * every message acknowledged is there, with dense seqs, before and after a
 * restart. The mount is undone on every path.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { newUsers, PROJECT_CGIS, scrape, startHost, tempDir, value, waitFor, type RunningHost, type User } from '../helpers/index.js';
import { clientMsgId, inbox } from '../messaging/client.js';
import { png } from '../media/files.js';
import { upload } from '../media/support.js';

const mountPoint = tempDir('cgihost-tmpfs-');
const mounted = (() => {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=20m', 'tmpfs', mountPoint], { stdio: 'pipe' });
    return true;
  } catch (e) {
    console.warn(`disk-full: skipped, cannot mount a tmpfs here (${(e as Error).message.split('\n')[0]}); it needs root`);
    return false;
  }
})();

const hosts: RunningHost[] = [];
afterAll(async () => {
  await Promise.all(hosts.map((x) => x.stop()));
  if (mounted) execFileSync('umount', ['-l', mountPoint], { stdio: 'pipe' });
});

/** Writes 1 MiB blocks, then smaller ones, until the file system takes no more. */
function fill(file: string): void {
  const fd = openSync(file, 'w');
  try {
    for (const size of [1 << 20, 64 << 10, 4 << 10, 512]) {
      const block = Buffer.alloc(size, 7);
      for (;;) {
        try {
          writeSync(fd, block);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw e;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
}

describe.runIf(mounted)('a full disk', () => {
  it(
    'refuses writes with 503 STORE_UNAVAILABLE, keeps reads and everything acknowledged, and recovers by itself',
    { timeout: 120_000 },
    async () => {
      const dataDir = join(mountPoint, 'data');
      mkdirSync(dataDir);
      const h = await startHost({ cgisDir: PROJECT_CGIS, dataDir, config: { watch: false, limits: { sendPerMinute: 0 } } });
      hosts.push(h);
      const [alice, bob] = (await newUsers(h, 2, 'df')) as [User, User];
      const acked: string[] = [];
      const send = async (content: string) => {
        const r = await h.post('sendmsg', { to: bob.uid, type: 'text', content, clientMsgId: clientMsgId() }, { token: alice.token });
        if (r.status === 200) acked.push(content);
        return r;
      };
      for (let i = 0; i < 20; i++) expect((await send(`before ${i}`)).status).toBe(200);

      const filler = join(mountPoint, 'filler');
      fill(filler);
      // SQLite may still reuse WAL pages it already has: send (bounded) until the disk says no.
      let refused;
      for (let i = 0; i < 3000 && !refused; i++) {
        const started = Date.now();
        const r = await send(`${'x'.repeat(2000)} full ${i}`);
        expect([200, 503], r.text).toContain(r.status);
        if (r.status === 503) {
          refused = r;
          expect(r.body.error.code).toBe('STORE_UNAVAILABLE');
          // At once: not after a timeout.
          expect(Date.now() - started).toBeLessThan(5_000);
        }
      }
      expect(refused, 'a write refused on the full disk').toBeDefined();
      // Refused again, and uploads too (their temp file cannot be written); nothing crashed.
      expect((await send('still full')).status).toBe(503);
      const up = await upload(h, Buffer.concat([png(), Buffer.alloc(256 * 1024)]), 'image/png', alice.token);
      expect(up.status, up.text).toBe(503);
      expect(up.body.error.code).toBe('STORE_UNAVAILABLE');
      // Reads go on: bob's inbox has everything acknowledged.
      const during = await inbox(h, bob);
      expect(during.map((m) => m.content)).toEqual(acked);
      expect(h.output()).toContain('store unavailable');
      await waitFor(async () => value(await scrape(h), 'cgihost_store_writes_failing') === 1, 10_000, { what: 'the gauge to say so' });

      // Space comes back: writes work again, with no restart.
      rmSync(filler);
      await waitFor(async () => (await send('after')).status === 200, 30_000, { what: 'a write after space was freed', everyMs: 200 });
      expect((await upload(h, png(), 'image/png', alice.token)).status).toBe(200);
      await waitFor(() => h.output().includes('store writable again'), 10_000, { what: 'the recovery log line' });
      await waitFor(async () => value(await scrape(h), 'cgihost_store_writes_failing') === 0, 10_000, { what: 'the gauge to clear' });

      const after = await inbox(h, bob);
      expect(after.map((m) => m.content)).toEqual(acked);
      expect(after.map((m) => m.seq)).toEqual(after.map((_, i) => i + 1));
      // And on disk: a restarted host has them all.
      await h.stop();
      const again = await startHost({ cgisDir: PROJECT_CGIS, dataDir, config: { watch: false } });
      hosts.push(again);
      const restarted = await inbox(again, bob);
      expect(restarted.map((m) => m.content)).toEqual(acked);
      expect(restarted.map((m) => m.seq)).toEqual(restarted.map((_, i) => i + 1));
    },
  );
});
