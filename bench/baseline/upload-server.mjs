// The bare baseline for media: the honest minimal node:http equivalent of
// uploadmedia + getmedia, in one thread and nothing more. No auth, no store,
// no worker hop; but the same file work as the host:
//   POST /upload   Content-Type from the accepted list (415 otherwise), its size
//                  limit (413 from Content-Length or while streaming), the body
//                  streamed to a temp file with SHA-256, the magic number checked,
//                  fsync, then renamed into media/<aa>/<sha256> (kept if already
//                  there) and the folder fsynced -> {"mediaId","size"}
//   GET /media/<sha256>   the file with fs.createReadStream, Content-Length, ETag
//   node bench/baseline/upload-server.mjs [--port 0] [--host 127.0.0.1] [--data-dir DIR]
// Prints `listening on http://HOST:PORT` when ready, like the host.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    'data-dir': { type: 'string' },
  },
});
const ownDir = !values['data-dir'];
const dataDir = values['data-dir'] ?? mkdtempSync(join(tmpdir(), 'cgihost-bench-bare-media-'));
const tmpDir = join(dataDir, 'tmp');
const mediaDir = join(dataDir, 'media');
mkdirSync(tmpDir, { recursive: true });
mkdirSync(mediaDir, { recursive: true });

const MiB = 1024 * 1024;
// Same types and limits as cgis/_shared/media-types.ts, with the same signature checks.
const ascii = (h, at, s) => h.subarray(at, at + s.length).toString('latin1') === s;
const TYPES = {
  'image/jpeg': [10 * MiB, (h) => h[0] === 0xff && h[1] === 0xd8 && h[2] === 0xff],
  'image/png': [10 * MiB, (h) => ascii(h, 0, '\x89PNG\r\n\x1a\n')],
  'image/gif': [10 * MiB, (h) => ascii(h, 0, 'GIF87a') || ascii(h, 0, 'GIF89a')],
  'image/webp': [10 * MiB, (h) => ascii(h, 0, 'RIFF') && ascii(h, 8, 'WEBP')],
  'audio/amr': [2 * MiB, (h) => ascii(h, 0, '#!AMR')],
  'audio/ogg': [2 * MiB, (h) => ascii(h, 0, 'OggS')],
  'audio/mpeg': [2 * MiB, (h) => ascii(h, 0, 'ID3') || (h[0] === 0xff && (h[1] & 0xe0) === 0xe0)],
  'video/mp4': [50 * MiB, (h) => ascii(h, 4, 'ftyp')],
};

function send(res, status, obj, headers = {}) {
  const body = JSON.stringify(obj);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

async function fsync(path) {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function receive(req, limit, path) {
  return new Promise((resolve, reject) => {
    const out = createWriteStream(path, { flags: 'wx' });
    const hash = createHash('sha256');
    let size = 0;
    let head = Buffer.alloc(0);
    let failed = false;
    const fail = (e) => {
      if (failed) return;
      failed = true;
      req.off('data', onData);
      req.pause();
      out.destroy();
      rmSync(path, { force: true });
      reject(e);
    };
    const onData = (chunk) => {
      size += chunk.length;
      if (size > limit) return fail(Object.assign(new Error('too large'), { status: 413 }));
      if (head.length < 16) head = Buffer.concat([head, chunk.subarray(0, 16 - head.length)]);
      hash.update(chunk);
      if (!out.write(chunk)) {
        req.pause();
        out.once('drain', () => req.resume());
      }
    };
    req.on('data', onData);
    req.on('end', () => out.end(() => (failed ? undefined : resolve({ size, head, sha256: hash.digest('hex') }))));
    req.on('close', () => {
      if (!req.complete) fail(new Error('interrupted'));
    });
    out.on('error', fail);
  });
}

async function upload(req, res) {
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  const t = TYPES[type];
  if (!t) return send(res, 415, { error: { code: 'UNSUPPORTED_MEDIA_TYPE' } });
  const [limit, magic] = t;
  if (Number(req.headers['content-length'] ?? 0) > limit)
    return send(res, 413, { error: { code: 'PAYLOAD_TOO_LARGE' } }, { connection: 'close' });
  const tmp = join(tmpDir, `upload-${randomBytes(12).toString('hex')}`);
  let got;
  try {
    got = await receive(req, limit, tmp);
  } catch (e) {
    if (e.status === 413) send(res, 413, { error: { code: 'PAYLOAD_TOO_LARGE' } }, { connection: 'close' });
    return;
  }
  try {
    if (got.size === 0 || !magic(got.head)) return send(res, 415, { error: { code: 'UNSUPPORTED_MEDIA_TYPE' } });
    const dir = join(mediaDir, got.sha256.slice(0, 2));
    const dest = join(dir, got.sha256);
    if (
      await stat(dest).then(
        () => true,
        () => false,
      )
    ) {
      await unlink(tmp);
    } else {
      await mkdir(dir, { recursive: true });
      await fsync(tmp);
      await rename(tmp, dest);
      await fsync(dir);
    }
    send(res, 200, { mediaId: got.sha256, contentType: type, size: got.size });
  } finally {
    rmSync(tmp, { force: true });
  }
}

async function download(req, res, id) {
  if (!/^[0-9a-f]{64}$/.test(id)) return send(res, 404, { error: { code: 'NO_SUCH_MEDIA' } });
  const path = join(mediaDir, id.slice(0, 2), id);
  const st = await stat(path).catch(() => null);
  if (!st) return send(res, 404, { error: { code: 'NO_SUCH_MEDIA' } });
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': st.size, etag: `"${id}"` });
  const s = createReadStream(path);
  s.on('error', () => res.destroy());
  res.on('close', () => s.destroy());
  s.pipe(res);
}

const server = createServer((req, res) => {
  const url = req.url ?? '';
  const fail = () => {
    if (!res.headersSent) send(res, 500, { error: { code: 'INTERNAL' } });
    else res.destroy();
  };
  if (req.method === 'POST' && url === '/upload') return void upload(req, res).catch(fail);
  if (req.method === 'GET' && url.startsWith('/media/')) return void download(req, res, url.slice(7)).catch(fail);
  send(res, 404, { error: { code: 'NOT_FOUND' } });
});

server.listen(Number(values.port), values.host, () => {
  const { address, port } = server.address();
  console.log(`listening on http://${address}:${port}`);
});

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    server.close(() => {
      if (ownDir) rmSync(dataDir, { recursive: true, force: true });
      process.exit(0);
    });
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), 500).unref();
  });
}
