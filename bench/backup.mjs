// Backup while serving (issue 19 Speed): a database of --size-mb (default
// 1024 MB) behind a running host, and the sendmsg load (8 sender -> recipient
// pairs, 50 connections, as bench/sendmsg.mjs) in alternating rounds: "plain"
// with no backup, "backup" while `cgihost backup` (the CLI's own process, the
// default way, busy share 0.5) copies the database. Each backup round starts a
// backup, waits for its first progress line, runs the load, and stops that
// backup (it is started again next round). Headline: the median of per-round
// backup/plain req/s (goal >= 0.7). Then one whole backup is made under
// continuous load: its time, and the load's req/s meanwhile against the plain
// rounds' median; and the copy is opened and counted (it must be whole).
// The database is grown to size with a filler table of random 4 KiB blobs
// (pages are pages to the backup API) after the host made its schema.
//   node bench/backup.mjs [--size-mb 1024] [--rounds 6] [--duration 3] [--warmup 2] [--connections 50]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { startHost, stopServers, ROOT, HOST_CLI } from './lib/servers.mjs';
import { runRounds, roundOptions, parseRoundOptions } from './lib/rounds.mjs';
import { median, ratio, fmtNum, fmtRatio, verdict, boundedNumber, summariseRounds, pairedRatios } from './lib/stats.mjs';
import { writeResult } from './lib/results.mjs';
import { makeUsers, runRotatingLoad } from './lib/users.mjs';

const GOAL = 0.7;
const CGIS_DIR = join(ROOT, 'cgis');
const CONTENT = 'hello from the backup bench';

/** Grows the database to `mb` with a filler table, in transactions of 64 MB. */
function grow(dbFile, mb) {
  const db = new Database(dbFile);
  try {
    db.exec('CREATE TABLE IF NOT EXISTS bench_filler (id INTEGER PRIMARY KEY, blob BLOB NOT NULL)');
    const insert = db.prepare('INSERT INTO bench_filler (blob) VALUES (?)');
    const batch = db.transaction((n) => {
      for (let i = 0; i < n; i++) insert.run(randomBytes(4000));
    });
    while (statSync(dbFile).size < mb * 1024 * 1024) {
      batch(16_384);
      db.pragma('wal_checkpoint(TRUNCATE)');
    }
  } finally {
    db.close();
  }
}

/** Starts `cgihost backup`; resolves once it has reported progress (so it is copying), with a handle to stop or await it. */
function startBackup(dataDir, file) {
  const child = spawn(process.execPath, [HOST_CLI, 'backup', file, '--data-dir', dataDir, '--media', `${file}.media`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  let out = '';
  const started = performance.now();
  const done = new Promise((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, ms: performance.now() - started, out, err })),
  );
  child.stdout.on('data', (c) => (out += c));
  const copying = new Promise((resolve, reject) => {
    child.stderr.on('data', (c) => {
      err += c;
      if (/backup: \d+%/.test(err)) resolve();
    });
    void done.then((r) => reject(new Error(`backup ended before it reported progress: ${r.code} ${r.err}`)));
  });
  return { copying, done, stop: () => child.kill('SIGKILL'), running: () => child.exitCode === null && child.signalCode === null };
}

export async function main(argv = process.argv.slice(2)) {
  const { values: a } = parseArgs({
    args: argv,
    options: { ...roundOptions(6), 'size-mb': { type: 'string', default: '1024' } },
    strict: false,
  });
  const { rounds, durationS, warmupS, load } = parseRoundOptions(a);
  const sizeMb = boundedNumber(a['size-mb'], 'size-mb', 1, 65_536);
  const tmp = mkdtempSync(join(tmpdir(), 'cgihost-bench-backup-'));
  const dataDir = join(tmp, 'data');
  const servers = {};
  try {
    console.log(`# backup: sendmsg load with and without an online backup of a ${sizeMb} MB database`);
    // The host makes its schema; the filler is added with the host stopped.
    const first = await startHost({ cgisDir: CGIS_DIR, dataDir });
    await stopServers({ first });
    const t0 = performance.now();
    grow(join(dataDir, 'cgihost.db'), sizeMb);
    const dbBytes = statSync(join(dataDir, 'cgihost.db')).size;
    console.log(`database grown to ${fmtNum(dbBytes / 1024 / 1024)} MB in ${fmtNum((performance.now() - t0) / 1000, 1)} s`);

    servers.host = await startHost({ cgisDir: CGIS_DIR, dataDir });
    const url = servers.host.url;
    const pairs = 8;
    const senders = await makeUsers(url, { prefix: 'snd', count: pairs, concurrency: 8 });
    const recipients = await makeUsers(url, { prefix: 'rcp', count: pairs, concurrency: 8 });
    const variants = senders.map((s, i) => ({
      headers: { authorization: `Bearer ${s.token}` },
      bodyTemplate: JSON.stringify({ to: recipients[i].uid, type: 'text', content: CONTENT, clientMsgId: '{{id}}' }),
    }));
    const sendLoad = (s) => runRotatingLoad({ url: `${url}/cgi-bin/sendmsg`, variants, durationS: s, ...load });

    let n = 0;
    const rows = await runRounds({
      sides: ['plain', 'backup'],
      rounds,
      durationS,
      warmupS,
      pidOf: () => servers.host.pid,
      load: async (side, s) => {
        if (side === 'plain') return sendLoad(s);
        const b = startBackup(dataDir, join(tmp, `round-${++n}.db`));
        try {
          await b.copying;
          const res = await sendLoad(s);
          if (!b.running()) console.log('  (the backup finished before the load did: the round was only partly under backup)');
          return res;
        } finally {
          b.stop();
          await b.done;
          rmSync(join(tmp, `round-${n}.db`), { force: true });
        }
      },
    });
    const summary = summariseRounds(rows, ['plain', 'backup']);
    const perRound = pairedRatios(rows, 'backup', 'plain');
    const headline = median(perRound);

    // One whole backup under continuous load.
    const file = join(tmp, 'whole.db');
    const whole = startBackup(dataDir, file);
    const during = [];
    await whole.copying;
    while (whole.running()) during.push(await sendLoad(durationS));
    const result = await whole.done;
    if (result.code !== 0) throw new Error(`the whole backup failed: ${result.code} ${result.err}`);
    const copy = new Database(file, { readonly: true });
    const fillerRows = copy.prepare('SELECT COUNT(*) FROM bench_filler').pluck().get();
    const integrity = copy.pragma('quick_check', { simple: true });
    copy.close();
    const duringRps = during.reduce((s, r) => s + r.requests, 0) / during.reduce((s, r) => s + r.durationS, 0);
    const wholeRatio = ratio(duringRps, summary.plain.rps);

    console.log(`\nbackup/plain req/s per round: ${perRound.map(fmtRatio).join(' ')}`);
    console.log(`median ${fmtRatio(headline)} (goal >= ${GOAL}) ${verdict(headline >= GOAL)}`);
    console.log(
      `whole backup of ${fmtNum(dbBytes / 1024 / 1024)} MB under load: ${fmtNum(result.ms / 1000, 1)} s, ` +
        `${fmtNum(duringRps)} req/s meanwhile = ${fmtRatio(wholeRatio)} of the plain median; copy: ${fillerRows} filler rows, quick_check ${integrity}`,
    );
    return writeResult('backup', {
      config: { sizeMb, dbBytes, rounds, durationS, warmupS, ...load },
      rows,
      summary,
      perRound,
      headline,
      goal: GOAL,
      pass: headline >= GOAL,
      whole: { ms: result.ms, rps: duringRps, ratio: wholeRatio, fillerRows, integrity },
    });
  } finally {
    await stopServers(servers);
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
