// Media bench (issue 7), host and bare baseline side by side in one run:
//   1. upload throughput of a 50 MB mp4 (MB/s): POST /cgi-bin/uploadmedia vs
//      bench/baseline/upload-server.mjs (node:http streaming the body to disk with
//      SHA-256, fsync, rename into place). Goal: host/bare >= 0.8.
//   2. download throughput of that file: GET /cgi-bin/getmedia vs the bare server's
//      fs.createReadStream. Goal: host/bare >= 0.8.
//   3. sendmsg req/s (1:1 text, a fresh clientMsgId per request) with and without
//      50 MB uploads streaming into the same host. Goal: with/without >= 0.9.
//      A control mode streams the same uploads into the bare server instead, to
//      tell the machine's share of a slowdown (2 cores for everything) from the host's.
// Every upload is new bytes (a unique tail), so each one pays the full path
// (hash, write, fsync, rename), not the dedup shortcut.
//   node bench/media.mjs [--rounds 6] [--per-round 3] [--size-mb 50] [--duration 5] [--connections 20]
//                        [--uploaders 1] [--upload-bytes new|same] [--tool auto|wrk|autocannon] [--only all|upload|download|sendmsg]
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { postJson, sleep } from './lib/client.mjs';
import { pickTool, runLoad } from './lib/load.mjs';
import { writeResult } from './lib/results.mjs';
import { cpuTimeMs, ROOT, startHost } from './lib/servers.mjs';
import { boundedNumber, fmtMs, fmtNum, fmtRatio, median, printTable, ratio, verdict } from './lib/stats.mjs';

const GOAL_UPLOAD = 0.8;
const GOAL_DOWNLOAD = 0.8;
const GOAL_SENDMSG = 0.9;
const BARE = join(ROOT, 'bench', 'baseline', 'upload-server.mjs');

const OPTIONS = {
  rounds: { type: 'string', default: '6' },
  'per-round': { type: 'string', default: '3' },
  'size-mb': { type: 'string', default: '50' },
  duration: { type: 'string', default: '5' },
  connections: { type: 'string', default: '20' },
  uploaders: { type: 'string', default: '1' },
  // 'same': the uploads under sendmsg repeat one file, so the host dedups them
  // (no fsync or rename of 50 MB): separates disk contention from CPU.
  'upload-bytes': { type: 'string', default: 'new' },
  tool: { type: 'string', default: process.env.BENCH_TOOL || 'auto' },
  only: { type: 'string', default: 'all' },
};

export async function main(argv = process.argv.slice(2)) {
  const { values: a } = parseArgs({ args: argv, options: OPTIONS, strict: false });
  const rounds = boundedNumber(a.rounds, 'rounds', 1, 20);
  const perRound = boundedNumber(a['per-round'], 'per-round', 1, 10);
  const sizeBytes = boundedNumber(a['size-mb'], 'size-mb', 1, 50) * 1_000_000;
  const durationS = boundedNumber(a.duration, 'duration', 1, 60);
  const connections = boundedNumber(a.connections, 'connections', 1, 1000);
  const uploaders = boundedNumber(a.uploaders, 'uploaders', 1, 4);
  const tool = pickTool(a.tool);
  const sameBytes = a['upload-bytes'] === 'same';
  if (!['new', 'same'].includes(a['upload-bytes'])) throw new Error('--upload-bytes is new or same');
  const parts = a.only === 'all' ? ['upload', 'download', 'sendmsg'] : [a.only];
  if (!parts.every((p) => ['upload', 'download', 'sendmsg'].includes(p))) throw new Error('--only is all, upload, download or sendmsg');

  console.log('# media: uploadmedia / getmedia vs bare node:http, and sendmsg under uploads');
  console.log(
    `${(sizeBytes / 1e6).toFixed(0)} MB mp4, ${rounds} rounds (ABBA) x ${perRound} transfers per side, sendmsg: ${tool}, ${connections} connections, ` +
      `${durationS} s per round, ${uploaders} concurrent uploader(s)`,
  );

  const tmp = mkdtempSync(join(tmpdir(), 'cgihost-bench-media-'));
  const configFile = join(tmp, 'host.config.json');
  writeFileSync(configFile, JSON.stringify({ watch: false }) + '\n');
  const payload = new Payload(sizeBytes);
  let host;
  let bare;
  try {
    host = await startHost({ cgisDir: join(ROOT, 'cgis'), configFile });
    bare = await startBare(join(tmp, 'bare-data'));
    console.log(`host: ${host.url} (pid ${host.pid}), bare: ${bare.url} (pid ${bare.pid})`);
    const [alice, bob] = await users(host.url, ['alice', 'bob']);
    const sides = {
      host: {
        uploadUrl: `${host.url}/cgi-bin/uploadmedia`,
        downloadUrl: (id) => `${host.url}/cgi-bin/getmedia?mediaId=${id}`,
        headers: { authorization: `Bearer ${alice.token}` },
        pid: host.pid,
      },
      bare: { uploadUrl: `${bare.url}/upload`, downloadUrl: (id) => `${bare.url}/media/${id}`, headers: {}, pid: bare.pid },
    };
    const result = { sizeBytes, rounds, perRound, durationS, connections, uploaders, tool };

    // Sanity and warm-up: one upload and one download per side, checked byte for byte (by hash).
    const ids = {};
    for (const side of ['bare', 'host']) {
      const up = await uploadOnce(sides[side], payload.next());
      ids[side] = up.mediaId;
      const down = await downloadOnce(sides[side], up.mediaId, true);
      if (down.sha256 !== up.mediaId) throw new Error(`${side}: downloaded bytes differ from the upload`);
    }

    if (parts.includes('upload')) {
      const rows = await abba(rounds, perRound, (side) => uploadOnce(sides[side], payload.next()));
      result.upload = reportThroughput('upload', rows, GOAL_UPLOAD, sizeBytes);
    }
    if (parts.includes('download')) {
      const rows = await abba(rounds, perRound, (side) => downloadOnce(sides[side], ids[side], false));
      result.download = reportThroughput('download', rows, GOAL_DOWNLOAD, sizeBytes);
    }
    if (parts.includes('sendmsg')) {
      result.sendmsg = await sendmsgUnderUploads({
        host,
        sides,
        alice,
        bob,
        rounds,
        durationS,
        connections,
        uploaders,
        tool,
        payload,
        sameBytes,
      });
    }
    writeResult('media', result);
    return result;
  } finally {
    await host?.stop();
    await bare?.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** CPU time (ms) of one process's main thread: the event loop that parses every request. */
function mainThreadCpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10; // utime + stime, USER_HZ 100
  } catch {
    return NaN;
  }
}

/** A 50 MB mp4 made of one shared payload and an 8-byte tail unique to each upload. */
class Payload {
  constructor(size) {
    this.size = size;
    this.n = 0;
    const payloadBytes = size - 32;
    const ftyp = Buffer.alloc(24);
    ftyp.writeUInt32BE(24, 0);
    ftyp.write('ftypisom', 4, 'latin1');
    ftyp.writeUInt32BE(0x200, 12);
    ftyp.write('isommp41', 16, 'latin1');
    const mdat = Buffer.alloc(8);
    mdat.writeUInt32BE(8 + payloadBytes, 0);
    mdat.write('mdat', 4, 'latin1');
    this.head = Buffer.concat([ftyp, mdat]);
    this.shared = Buffer.alloc(payloadBytes - 8, 'cgihost media bench payload ');
    this.sharedHash = createHash('sha256').update(this.head).update(this.shared);
  }

  /** Pieces of a fresh file and its SHA-256. */
  next() {
    const tail = Buffer.alloc(8);
    tail.writeBigUInt64BE(BigInt(++this.n) * 1_000_003n + BigInt(process.pid));
    return { pieces: [this.head, this.shared, tail], sha256: this.sharedHash.copy().update(tail).digest('hex'), size: this.size };
  }
}

/** Starts bench/baseline/upload-server.mjs and waits for its `listening on` line. */
function startBare(dataDir) {
  const child = spawn(process.execPath, [BARE, '--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise((r) => child.once('exit', r));
  process.once('exit', () => child.kill('SIGKILL'));
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`bare upload server not ready in 15 s:\n${out}`)), 15_000);
    const onData = (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      resolve({
        url: m[1],
        pid: child.pid,
        stop: async () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
          await exited;
          clearTimeout(t);
          rmSync(dataDir, { recursive: true, force: true });
        },
      });
    };
    child.stdout.setEncoding('utf8').on('data', onData);
    child.stderr.setEncoding('utf8').on('data', (d) => (out += d));
    child.once('exit', (code) => reject(new Error(`bare upload server exited (${code}):\n${out}`)));
  });
}

async function users(url, names) {
  const tag = Math.random().toString(36).slice(2, 7);
  const out = [];
  for (const n of names) {
    const username = `${n}_${tag}`;
    const password = `bench-${tag}-password`;
    const reg = await postJson(`${url}/cgi-bin/register`, { username, password }, { timeoutMs: 30_000 });
    if (reg.status !== 200) throw new Error(`register: ${reg.status} ${reg.text}`);
    const login = await postJson(`${url}/cgi-bin/login`, { username, password }, { timeoutMs: 30_000 });
    if (login.status !== 200) throw new Error(`login: ${login.status} ${login.text}`);
    out.push(login.json);
  }
  return out;
}

/** Streams one file as the request body (1 MiB writes, with backpressure) and times it to the answer's end. */
function uploadOnce(side, file) {
  const url = new URL(side.uploadUrl);
  const cpu0 = cpuTimeMs(side.pid);
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request({
      host: url.hostname,
      port: url.port,
      path: url.pathname,
      method: 'POST',
      agent: false,
      headers: { ...side.headers, 'content-type': 'video/mp4', 'content-length': file.size },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d) => (text += d));
      res.on('end', () => {
        const ms = performance.now() - t0;
        let json;
        try {
          json = JSON.parse(text);
        } catch {
          /* below */
        }
        if (res.statusCode !== 200 || json?.mediaId !== file.sha256) {
          return reject(new Error(`upload to ${side.uploadUrl}: ${res.statusCode} ${text.slice(0, 300)} (expected ${file.sha256})`));
        }
        resolve({ mediaId: json.mediaId, bytes: file.size, ms, mbps: file.size / 1e6 / (ms / 1000), cpuMs: cpuTimeMs(side.pid) - cpu0 });
      });
    });
    (async () => {
      for (const p of file.pieces) {
        for (let i = 0; i < p.length; i += 1 << 20) {
          if (!req.write(p.subarray(i, Math.min(p.length, i + (1 << 20))))) await new Promise((r) => req.once('drain', r));
        }
      }
      req.end();
    })().catch(reject);
  });
}

/** GETs a file to its end, counting bytes (hashing them only when asked: that is client CPU, not the server's). */
function downloadOnce(side, id, check) {
  const url = new URL(side.downloadUrl(id));
  const cpu0 = cpuTimeMs(side.pid);
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: url.pathname + url.search, headers: side.headers, agent: false });
    req.on('error', reject);
    req.on('response', (res) => {
      if (res.statusCode !== 200) return reject(new Error(`download ${url}: ${res.statusCode}`));
      const hash = check ? createHash('sha256') : null;
      let bytes = 0;
      res.on('data', (c) => {
        bytes += c.length;
        hash?.update(c);
      });
      res.on('end', () => {
        const ms = performance.now() - t0;
        resolve({ bytes, ms, mbps: bytes / 1e6 / (ms / 1000), sha256: hash?.digest('hex'), cpuMs: cpuTimeMs(side.pid) - cpu0 });
      });
      res.on('error', reject);
    });
    req.end();
  });
}

/**
 * Rounds in ABBA order (bare, host / host, bare ...), so neither side always
 * runs on a warmer machine; a side's round is `perRound` transfers back to
 * back, its MB/s their total bytes over their total time (one 50 MB transfer
 * is too short to stand alone on a noisy machine).
 */
async function abba(rounds, perRound, once) {
  const rows = [];
  for (let r = 1; r <= rounds; r++) {
    for (const side of r % 2 ? ['bare', 'host'] : ['host', 'bare']) {
      await sleep(200);
      let ms = 0;
      let cpuMs = 0;
      let bytes = 0;
      for (let i = 0; i < perRound; i++) {
        const x = await once(side);
        ms += x.ms;
        cpuMs += x.cpuMs;
        bytes += x.bytes;
      }
      rows.push({ round: r, side, mbps: bytes / 1e6 / (ms / 1000), ms: ms / perRound, cpuMs: cpuMs / perRound });
    }
  }
  return rows;
}

function reportThroughput(what, rows, goal, sizeBytes) {
  console.log(`\n## ${what} of a ${what === 'upload' ? 'new' : 'stored'} ${sizeBytes / 1e6} MB file`);
  printTable(
    ['round', 'side', 'MB/s', 'time/file', 'server CPU/file'],
    rows.map((r) => [r.round, r.side, fmtNum(r.mbps, 1), fmtMs(r.ms), fmtMs(r.cpuMs)]),
  );
  const per = [];
  for (let r = 1; r <= Math.max(...rows.map((x) => x.round)); r++) {
    const h = rows.find((x) => x.round === r && x.side === 'host');
    const b = rows.find((x) => x.round === r && x.side === 'bare');
    per.push(ratio(h.mbps, b.mbps));
  }
  const hostMed = median(rows.filter((r) => r.side === 'host').map((r) => r.mbps));
  const bareMed = median(rows.filter((r) => r.side === 'bare').map((r) => r.mbps));
  const cpuRatio = ratio(
    median(rows.filter((r) => r.side === 'host').map((r) => r.cpuMs)),
    median(rows.filter((r) => r.side === 'bare').map((r) => r.cpuMs)),
  );
  const headline = median(per);
  console.log(
    `${what}: host ${fmtNum(hostMed, 1)} MB/s, bare ${fmtNum(bareMed, 1)} MB/s (medians); ` +
      `host/bare ${fmtRatio(headline)} (median of per-round ratios), server CPU host/bare ${fmtRatio(cpuRatio)}; ` +
      `goal >= ${goal}: ${verdict(headline >= goal)}`,
  );
  return { rows, summary: { hostMBps: hostMed, bareMBps: bareMed, ratio: headline, perRound: per, cpuRatio } };
}

/** sendmsg load alone, and with uploads streaming into the same host, in ABBA order. */
/**
 * sendmsg load in three modes per round, in ABC / CBA order: `idle`; `uploading`,
 * with 50 MB uploads streaming into the same host; and `control`, with the same
 * uploads streaming into the bare server instead. The control shows what the
 * upload traffic costs the machine (2 shared cores: client, kernel, disk), so
 * uploading/control is what the host's own isolation costs.
 */
async function sendmsgUnderUploads({ host, sides, alice, bob, rounds, durationS, connections, uploaders, tool, payload, sameBytes }) {
  const repeated = payload.next();
  await uploadOnce(sides.bare, repeated); // so that --upload-bytes same dedups on both sides
  const url = `${host.url}/cgi-bin/sendmsg`;
  const body = JSON.stringify({ to: bob.uid, type: 'text', content: 'hello from the media bench', clientMsgId: 'X' }).replace(
    '"X"',
    '"{{id}}"',
  );
  const headers = { authorization: `Bearer ${alice.token}` };
  const check = await postJson(url, { to: bob.uid, type: 'text', content: 'sanity', clientMsgId: 'sanity-1' }, { headers });
  if (check.status !== 200) throw new Error(`sendmsg sanity: ${check.status} ${check.text}`);
  await runLoad({ url, bodyTemplate: body, headers, connections, durationS: 2, tool }); // warm-up

  const MODES = ['idle', 'uploading', 'control'];
  const rows = [];
  for (let r = 1; r <= rounds; r++) {
    for (const mode of r % 2 ? MODES : [...MODES].reverse()) {
      await sleep(300);
      let stop = false;
      const done = [];
      const target = mode === 'uploading' ? sides.host : sides.bare;
      const lanes =
        mode === 'idle'
          ? []
          : Array.from({ length: uploaders }, async () => {
              while (!stop) done.push(await uploadOnce(target, sameBytes ? repeated : payload.next()));
            });
      if (lanes.length) await sleep(200); // let the first upload get going
      const cpu0 = cpuTimeMs(host.pid);
      const main0 = mainThreadCpuMs(host.pid);
      const res = await runLoad({ url, bodyTemplate: body, headers, connections, durationS, tool });
      const cpuMs = cpuTimeMs(host.pid) - cpu0;
      const mainMs = mainThreadCpuMs(host.pid) - main0;
      stop = true;
      await Promise.all(lanes);
      const upMBps = done.length ? median(done.map((d) => d.mbps)) : NaN;
      rows.push({
        round: r,
        mode,
        ...res,
        cpuCores: cpuMs / 1000 / res.durationS,
        mainCores: mainMs / 1000 / res.durationS,
        uploads: done.length,
        uploadMBps: upMBps,
      });
    }
  }
  console.log(
    `\n## sendmsg (1:1 text): idle, with ${uploaders} concurrent 50 MB upload stream(s) into the host, ` +
      `and (control) into the bare server${sameBytes ? '; one repeated file (deduped)' : ''}`,
  );
  printTable(
    ['round', 'mode', 'req/s', 'p50', 'p99', 'non2xx', 'errors', 'host cores', 'main thread', 'uploads', 'upload MB/s'],
    rows.map((x) => [
      x.round,
      x.mode,
      fmtNum(x.rps),
      fmtMs(x.p50),
      fmtMs(x.p99),
      x.non2xx,
      x.errors,
      fmtNum(x.cpuCores, 2),
      fmtNum(x.mainCores, 2),
      x.uploads || '',
      Number.isFinite(x.uploadMBps) ? fmtNum(x.uploadMBps, 1) : '',
    ]),
  );
  const perRound = (a, b) => {
    const out = [];
    for (let r = 1; r <= rounds; r++)
      out.push(ratio(rows.find((x) => x.round === r && x.mode === a).rps, rows.find((x) => x.round === r && x.mode === b).rps));
    return out;
  };
  const med = (mode, key) => median(rows.filter((x) => x.mode === mode).map((x) => x[key]));
  const per = perRound('uploading', 'idle');
  const perControl = perRound('control', 'idle');
  const perIsolation = perRound('uploading', 'control');
  const summary = {
    idleRps: med('idle', 'rps'),
    uploadingRps: med('uploading', 'rps'),
    controlRps: med('control', 'rps'),
    idleP99: med('idle', 'p99'),
    uploadingP99: med('uploading', 'p99'),
    controlP99: med('control', 'p99'),
    ratio: median(per),
    controlRatio: median(perControl),
    isolationRatio: median(perIsolation),
    perRound: per,
    failed: rows.reduce((n, x) => n + x.non2xx + x.errors, 0),
  };
  console.log(
    `sendmsg: ${fmtNum(summary.idleRps)} req/s idle, ${fmtNum(summary.uploadingRps)} with uploads into the host, ` +
      `${fmtNum(summary.controlRps)} with uploads into the bare server (medians); p99 ${fmtMs(summary.idleP99)} / ${fmtMs(summary.uploadingP99)} / ${fmtMs(summary.controlP99)}`,
  );
  console.log(
    `with/without ${fmtRatio(summary.ratio)} (median of per-round ratios; goal >= ${GOAL_SENDMSG}: ` +
      `${verdict(summary.ratio >= GOAL_SENDMSG && summary.failed === 0)}); control/without ${fmtRatio(summary.controlRatio)} (the machine's share); ` +
      `with/control ${fmtRatio(summary.isolationRatio)} (the host's share); failed requests ${summary.failed}`,
  );
  return { rows, summary };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
