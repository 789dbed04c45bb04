/**
 * Backups over a running host (SPEC §10): `cgihost backup FILE` (made by the
 * CLI's own process) and the admin API's backup (made by the host), each taken
 * while four senders keep sending, then restored with the README's own restore
 * procedure (its shell block is run as written) into a fresh data dir. A host
 * started on it gives back every message acknowledged before the backup
 * began, with dense seqs, and the media those messages name.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError, newUsers, PROJECT_CGIS, ROOT, runCli, startHost, tempDir, type RunningHost, type User } from '../helpers/index.js';
import { clientMsgId, inbox } from '../messaging/client.js';
import { png } from '../media/files.js';
import { getMedia, upload } from '../media/support.js';

let h: RunningHost;
let bob: User;
let senders: User[];
let mediaId: string;
const restored: RunningHost[] = [];

beforeAll(async () => {
  h = await startHost({ cgisDir: PROJECT_CGIS, config: { watch: false, limits: { sendPerMinute: 0 } } });
  [bob, ...senders] = await newUsers(h, 5, 'bk');
  const up = await upload(h, png(), 'image/png', senders[0]!.token);
  expect(up.status, up.text).toBe(200);
  mediaId = up.body.mediaId;
  const m = await h.post('sendmediamsg', { to: bob.uid, type: 'image', mediaId, clientMsgId: clientMsgId() }, { token: senders[0]!.token });
  expect(m.status, m.text).toBe(200);
});
afterAll(async () => {
  await Promise.all([h?.stop(), ...restored.map((r) => r.stop())]);
});

/** Four senders sending to bob until stopped; `acked` holds every acknowledged message's content, in order of acknowledgement. */
function sendLoad() {
  const acked: string[] = [];
  let running = true;
  let n = 0;
  const loops = senders.map(async (s) => {
    while (running) {
      const content = `load ${n++}`;
      const r = await h.post('sendmsg', { to: bob.uid, type: 'text', content, clientMsgId: clientMsgId() }, { token: s.token });
      if (r.status !== 200) throw new Error(`send: ${r.status} ${r.text}`);
      acked.push(content);
    }
  });
  return {
    acked,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

/** The README's restore block (the ```sh fence after `<!-- restore -->`), run with BACKUP and DATA set. */
function restoreAsReadmeSays(backup: string, data: string): void {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const block = /<!-- restore -->\s*```sh\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(block, 'the README has a restore block').toBeTruthy();
  execFileSync('sh', ['-c', block!], { env: { ...process.env, BACKUP: backup, DATA: data }, stdio: 'pipe' });
}

async function checkRestored(backup: string, before: string[]) {
  const data = tempDir('cgihost-restored-');
  restoreAsReadmeSays(backup, data);
  const r = await startHost({ cgisDir: PROJECT_CGIS, dataDir: data, config: { watch: false } });
  restored.push(r);
  // bob's session was in the database: the restored host knows his token.
  const messages = await inbox(r, bob);
  expect(messages.map((m) => m.seq)).toEqual(messages.map((_, i) => i + 1));
  const contents = new Set(messages.map((m) => m.content));
  const missing = before.filter((c) => !contents.has(c));
  expect(missing, 'messages acknowledged before the backup began').toEqual([]);
  const image = messages.find((m) => m.type === 'image');
  expect(image?.mediaId).toBe(mediaId);
  const media = await getMedia(r, mediaId, bob.token);
  expect(media.status).toBe(200);
  expect(media.bytes.equals(png())).toBe(true);
  return messages.length;
}

describe('backup', () => {
  it('cgihost backup FILE during a send load restores every message acknowledged before it began', async () => {
    const load = sendLoad();
    try {
      await waitForCount(load.acked, 40);
      const before = [...load.acked];
      const file = join(tempDir('cgihost-backup-'), 'chat.db');
      const cli = await runCli(['backup', file, '--data-dir', h.dataDir, '--busy-share', '0.5'], { timeoutMs: 60_000 });
      expect(cli.code, cli.stderr).toBe(0);
      expect(cli.stderr).toMatch(/backup: 100% \(\d+\/\d+ pages\)/);
      const result = JSON.parse(cli.stdout);
      expect(result).toMatchObject({ file, pages: expect.any(Number), media: { copied: 1, dir: `${file}.media` } });
      // The load went on while the backup was made.
      const during = load.acked.length;
      await waitForCount(load.acked, during + 10);
      await load.stop();
      // The file is one self-contained database: no journal or WAL beside it.
      expect(existsSync(`${file}-wal`)).toBe(false);
      const n = await checkRestored(file, before);
      expect(n).toBeGreaterThanOrEqual(before.length + 1);
    } finally {
      await load.stop();
    }
  });

  it('the admin API makes the backup in the host, reporting progress as NDJSON', async () => {
    const load = sendLoad();
    try {
      await waitForCount(load.acked, 20);
      const before = [...load.acked];
      const file = join(tempDir('cgihost-backup-'), 'api.db');
      const cli = await runCli(['backup', file, '--url', h.url], { timeoutMs: 60_000 });
      expect(cli.code, cli.stderr).toBe(0);
      expect(cli.stderr).toContain('backup: 100%');
      expect(JSON.parse(cli.stdout).media).toMatchObject({ copied: 1 });
      await load.stop();
      await checkRestored(file, before);
    } finally {
      await load.stop();
    }
  });

  it('refuses a target it cannot write, and never the database itself', async () => {
    const post = (body: unknown) =>
      fetch(`${h.url}/_host/api/backup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }).then(async (r) => ({ status: r.status, headers: r.headers, text: '', body: await r.json() }));
    expectError(await post({ file: 'relative.db' }), 400, 'INVALID_INPUT');
    expectError(await post({ file: '/no/such/folder/x.db' }), 400, 'INVALID_INPUT');
    expectError(await post({ file: join(h.dataDir, 'cgihost.db') }), 400, 'INVALID_INPUT');
    const cli = await runCli(['backup', '/no/such/folder/x.db', '--data-dir', h.dataDir]);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toContain('does not exist');
  });
});

async function waitForCount(list: string[], n: number): Promise<void> {
  const end = Date.now() + 60_000;
  while (list.length < n) {
    if (Date.now() > end) throw new Error(`only ${list.length} of ${n} messages acknowledged`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
