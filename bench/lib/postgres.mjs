// PostgreSQL for the benches: a throwaway cluster (as test/helpers/postgres.ts
// startTestCluster: initdb into a temp dir, trust auth, a free port on
// 127.0.0.1, fsync on; run as the user postgres through runuser when root),
// databases made and dropped per run, and the server's own processes for
// charging CPU to PostgreSQL.
//   const cluster = await startCluster();          // or undefined: no binaries
//   const db = await freshDatabase(cluster.url);   // { url, name, drop() }
//   postmasterPid(cluster.url)                     // its pid (local servers only), for postgresCpuTimeMs
//   cluster.stop();
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { processTree } from './servers.mjs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/** `url` with its database name replaced. */
export function withDatabase(url, database) {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** Runs one statement on `url` with its own connection; resolves to the rows. */
export async function pgQuery(url, sql, values) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql, values)).rows;
  } finally {
    await c.end();
  }
}

/** A fresh, empty database on the server of the superuser `adminUrl`; drop() removes it (connections forced out). */
export async function freshDatabase(adminUrl, prefix = 'cgihost_bench') {
  const name = `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
  await pgQuery(adminUrl, `CREATE DATABASE "${name}"`);
  return {
    url: withDatabase(adminUrl, name),
    name,
    drop: () => pgQuery(adminUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  };
}

/** The settings that decide what a durable commit costs, as the server reports them. */
export async function serverSettings(url) {
  const names = ['server_version', 'synchronous_commit', 'fsync', 'wal_sync_method', 'max_connections', 'shared_buffers'];
  const rows = await pgQuery(url, `SELECT name, current_setting(name) AS setting FROM pg_settings WHERE name = ANY($1)`, [names]);
  return Object.fromEntries(rows.map((r) => [r.name, r.setting]));
}

/**
 * The postmaster's pid of a server on this machine (its data directory's
 * postmaster.pid, read as a superuser may), or null (another machine, or not
 * readable). With processTree/cpuTimeMs it gives the CPU of every PostgreSQL
 * process: backends, WAL writer, checkpointer. On a shared server that
 * includes other clients' work.
 */
export async function postmasterPid(url) {
  const host = new URL(url).hostname;
  if (host !== '127.0.0.1' && host !== 'localhost' && host !== '') return null;
  try {
    const [{ data_directory: dir }] = await pgQuery(url, 'SHOW data_directory');
    const pid = Number(readFileSync(join(dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 && existsSync(`/proc/${pid}`) ? pid : null;
  } catch {
    return null;
  }
}

/** The newest PostgreSQL's bin folder of Debian's layout, or undefined. */
export function pgBinDir() {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length ? join(root, versions[0], 'bin') : undefined;
}

function freePort() {
  return new Promise((resolvePort, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolvePort(port));
    });
  });
}

/**
 * Starts a throwaway cluster, durable as in production (fsync on,
 * synchronous_commit on), or resolves to undefined when PostgreSQL is not
 * installed. Resolves to { url, dataDir, stop() }; a watchdog stops it should
 * this process die without calling stop().
 */
export async function startCluster({ maxConnections = 200 } = {}) {
  const bin = pgBinDir();
  if (!bin) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'cgihost-bench-pg-'));
  const data = join(dir, 'data');
  const socketDir = join(dir, 'sock');
  mkdirSync(socketDir);
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const uid = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    if (uid.status !== 0) throw new Error('PostgreSQL is installed but there is no user postgres to run it as');
    for (const p of [dir, socketDir]) chownSync(p, Number(uid.stdout.trim()), Number(gid.stdout.trim()));
  }
  const run = (cmd, args) => {
    const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args]] : [join(bin, cmd), args];
    const r = spawnSync(file, argv, { encoding: 'utf8', cwd: dir, timeout: 60_000 });
    if (r.status !== 0)
      throw new Error(`${cmd} ${args.join(' ')} failed (${r.error?.message ?? r.signal ?? r.status}):\n${r.stdout}\n${r.stderr}`);
  };
  try {
    // --no-sync: initdb's own files need no fsync (the cluster is thrown away); the server itself runs durable.
    run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--no-locale']);
    const port = await freePort();
    const opts = [
      `-p ${port}`,
      `-k ${socketDir}`,
      '-c listen_addresses=127.0.0.1',
      '-c fsync=on',
      '-c synchronous_commit=on',
      `-c max_connections=${maxConnections}`,
      // What the statements cost (topStatements), when the extension is installed (Debian's postgresql has it).
      ...(existsSync(join(bin, '..', 'lib', 'pg_stat_statements.so')) ? ['-c shared_preload_libraries=pg_stat_statements'] : []),
    ];
    run('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '60', '-o', opts.join(' '), 'start']);
    const stopCmd = [...(asRoot ? ['runuser', '-u', 'postgres', '--'] : []), join(bin, 'pg_ctl'), '-D', data, '-m', 'immediate', 'stop'];
    spawn(
      'sh',
      [
        '-c',
        'while kill -0 "$PID" 2>/dev/null && [ -d "$DIR" ]; do sleep 2; done; [ -d "$DIR" ] || exit 0; "$@" >/dev/null 2>&1; rm -rf "$DIR"',
        'cgihost-bench-pg-watchdog',
        ...stopCmd,
      ],
      { detached: true, stdio: 'ignore', env: { ...process.env, PID: String(process.pid), DIR: dir } },
    ).unref();
    let stopped = false;
    return {
      url: `postgres://postgres@127.0.0.1:${port}/postgres`,
      dataDir: data,
      stop() {
        if (stopped) return;
        stopped = true;
        try {
          run('pg_ctl', ['-D', data, '-m', 'fast', 'stop']);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    };
  } catch (e) {
    try {
      run('pg_ctl', ['-D', data, '-m', 'immediate', 'stop']);
    } catch {
      // not started
    }
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/**
 * pg_stat_statements on `url`'s database, emptied: resolves to true when the
 * server has it loaded (a throwaway cluster here does), else false.
 */
export async function resetStatements(url) {
  try {
    await pgQuery(url, 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    await pgQuery(url, 'SELECT pg_stat_statements_reset()');
    return true;
  } catch {
    return false;
  }
}

/** The statements on `url`'s database since resetStatements, most total execution time first. */
export async function topStatements(url, limit = 12) {
  const rows = await pgQuery(
    url,
    `SELECT s.calls::float8 AS calls, s.total_exec_time AS "totalMs", s.rows::float8 AS rows, s.query
       FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
      WHERE d.datname = current_database() AND s.query NOT LIKE '%pg_stat_statements%'
      ORDER BY s.total_exec_time DESC LIMIT $1`,
    [limit],
  );
  return rows.map((r) => ({ ...r, query: r.query.replace(/\s+/g, ' ').slice(0, 160) }));
}

const TICK_MS = 1000 / 100; // USER_HZ

/**
 * CPU time (ms) of a PostgreSQL server so far: the postmaster, its live
 * children (backends, WAL writer, checkpointer, autovacuum) and its children
 * gone meanwhile (cutime/cstime: the postmaster reaps them), so a backend
 * ending during a measurement does not take its time away with it.
 */
export function postgresCpuTimeMs(postmasterPid) {
  let total = 0;
  for (const p of processTree(postmasterPid)) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(f[11]) + Number(f[12])) * TICK_MS; // utime, stime
      if (p === postmasterPid) total += (Number(f[13]) + Number(f[14])) * TICK_MS; // cutime, cstime: reaped children
    } catch {
      /* ended meanwhile: its time is in the postmaster's cutime now */
    }
  }
  return total;
}
