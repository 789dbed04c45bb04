/**
 * The media folder's half of a backup: media files are named by their
 * SHA-256 and never change, so a copy brings over the files the target does
 * not have yet (same name and size) and nothing else, and can be repeated
 * into the same folder cheaply. Each file is written under a temp name and
 * renamed, so an interrupted copy never leaves half a file under a real name.
 * Run it after the database backup: every file the backup's messages name
 * was stored before the backup began, so it is there.
 */
import { copyFile, mkdir, readdir, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

export async function copyMedia(from: string, to: string): Promise<{ copied: number; bytes: number; dir: string }> {
  let copied = 0;
  let bytes = 0;
  await mkdir(to, { recursive: true });
  const shards = await readdir(from, { withFileTypes: true }).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return [];
    throw e;
  });
  for (const shard of shards) {
    if (!shard.isDirectory() || !/^[0-9a-f]{2}$/.test(shard.name)) continue;
    await mkdir(join(to, shard.name), { recursive: true });
    for (const name of await readdir(join(from, shard.name))) {
      if (!/^[0-9a-f]{64}$/.test(name)) continue;
      const src = join(from, shard.name, name);
      const dest = join(to, shard.name, name);
      const size = (await stat(src)).size;
      const there = await stat(dest).catch(() => null);
      if (there?.size === size) continue;
      const tmp = `${dest}.${randomBytes(6).toString('hex')}.tmp`;
      await copyFile(src, tmp);
      await rename(tmp, dest);
      copied++;
      bytes += size;
    }
  }
  return { copied, bytes, dir: to };
}
