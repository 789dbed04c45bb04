/**
 * What scripts/build-binary.mjs embeds in the single binary, and how the
 * binary reads it back: one asset `manifest.json` (this shape) and one asset
 * per file it names, gzipped.
 */
import { getRawAsset, isSea } from 'node:sea';
import { gunzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CgiError } from '../errors.js';

export interface SeaFile {
  /** Where the file goes, relative to the cache dir of this build. */
  path: string;
  /** The asset holding its bytes. */
  asset: string;
  /** Its size once unpacked: a file already there with this size is taken as written (it was renamed into place whole). */
  size: number;
  mode: number;
  gzip: boolean;
}

export interface SeaManifest {
  version: string;
  /** `<version>-<hash of every file>`: the cache dir of this build, so two builds never share files. */
  id: string;
  node: string;
  /** The newest glibc symbol version the SQLite addon needs, e.g. "2.34" (null if unknown). */
  glibc: string | null;
  files: SeaFile[];
}

export type AssetReader = (key: string) => Uint8Array;

export const MANIFEST_ASSET = 'manifest.json';

/**
 * Assets from the binary; outside one (plain `node dist/sea/main.cjs`, to
 * debug the bootstrap without building the binary) from the folder
 * CGIHOST_SEA_ASSETS names, where the build stages them.
 */
export function assetReader(): AssetReader {
  if (isSea()) return (key) => new Uint8Array(getRawAsset(key) as ArrayBuffer);
  const dir = process.env.CGIHOST_SEA_ASSETS;
  if (!dir)
    throw new CgiError('NOT_A_BINARY', 'not running as the single binary: set CGIHOST_SEA_ASSETS to the staged assets (dist/sea/assets)');
  return (key) => readFileSync(join(dir, key));
}

export function readManifest(read: AssetReader): SeaManifest {
  return JSON.parse(Buffer.from(read(MANIFEST_ASSET)).toString('utf8')) as SeaManifest;
}

export function unpack(f: SeaFile, read: AssetReader): Uint8Array {
  const raw = read(f.asset);
  return f.gzip ? gunzipSync(raw) : raw;
}
