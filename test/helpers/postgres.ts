/**
 * PostgreSQL for the tests that need it: a throwaway cluster started once per
 * vitest run by the global setup (startTestCluster), whose URL reaches the
 * tests as CGIHOST_TEST_PG_URL; a test takes a fresh empty database of its
 * own from it (freshDatabase). With CGIHOST_TEST_PG_URL already set (a
 * server of one's own, superuser or CREATEDB) no cluster is started and that
 * one is used. Without PostgreSQL binaries (/usr/lib/postgresql/N/bin) and
 * without the variable, PG_URL is undefined and such tests are skipped:
 *
 *   pgSkipNote('migrate-store');
 *   describe.skipIf(PG_SKIP)('…', () => { beforeAll(() => { requirePg(); … }) … })
 *
 * (When PostgreSQL is installed but the cluster fails to start, the global
 * setup says why in CGIHOST_TEST_PG_ERROR and those tests fail with it; the
 * rest of the run goes on.)
 *
 * .ci/run installs Debian's postgresql, so CI runs them. The SQLite tests
 * never depend on any of this.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export const PG_URL_ENV = 'CGIHOST_TEST_PG_URL';

/** Set by the global setup when PostgreSQL is installed but its cluster did not start: the tests fail with it rather than skip. */
export const PG_ERROR_ENV = 'CGIHOST_TEST_PG_ERROR';

/** The cluster's admin URL (a superuser, its `postgres` database), or undefined: no PostgreSQL for this run. */
export const PG_URL: string | undefined = process.env[PG_URL_ENV] || undefined;

/** Whether this run has no PostgreSQL at all (not installed, no URL): its tests are skipped. */
export const PG_SKIP = !PG_URL && !process.env[PG_ERROR_ENV];

/** Why PostgreSQL tests are skipped, printed once per test file that has them. */
export function pgSkipNote(what: string): void {
  if (PG_SKIP)
    console.warn(
      `${what}: PostgreSQL tests skipped: no PostgreSQL binaries under /usr/lib/postgresql/*/bin (apt-get install postgresql) and no ${PG_URL_ENV}`,
    );
}

/** The URL, for a suite's beforeAll: throws when PostgreSQL is installed but its cluster failed to start (a failure, not a skip). */
export function requirePg(): string {
  if (!PG_URL) throw new Error(`the PostgreSQL test cluster did not start: ${process.env[PG_ERROR_ENV] ?? `${PG_URL_ENV} is not set`}`);
  return PG_URL;
}

/** A PostgreSQL database's URL: `url` with its database name replaced. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** A fresh, empty database on the test cluster; drop() removes it (at the end of a suite). */
export async function freshDatabase(prefix = 'cgihost_test'): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  if (!PG_URL) throw new Error(`no PostgreSQL: ${PG_URL_ENV} is not set`);
  const name = `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
  await adminQuery(`CREATE DATABASE "${name}"`);
  return {
    url: withDatabase(PG_URL, name),
    name,
    drop: () => adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  };
}

async function adminQuery(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/** The newest PostgreSQL's bin folder of Debian's layout, or undefined. */
function pgBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length ? join(root, versions[0]!, 'bin') : undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolvePort(port));
    });
  });
}

export interface TestCluster {
  url: string;
  stop(): void;
}

/**
 * Starts a throwaway cluster (initdb into a fresh temp dir, trust auth, on a
 * free port of 127.0.0.1, fsync on), or returns undefined when there are no
 * binaries. Run as root, the server runs as the user postgres (it refuses
 * root): the folder is handed to it and each command goes through runuser.
 */
export async function startTestCluster(): Promise<TestCluster | undefined> {
  const bin = pgBinDir();
  if (!bin) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'cgihost-pg-'));
  const data = join(dir, 'data');
  const socketDir = join(dir, 'sock');
  mkdirSync(socketDir);
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const ids = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    if (ids.status !== 0) throw new Error('PostgreSQL is installed but there is no user postgres to run it as');
    for (const p of [dir, socketDir]) chownSync(p, Number(ids.stdout.trim()), Number(gid.stdout.trim()));
  }
  const run = (cmd: string, args: string[]) => {
    const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args]] : [join(bin, cmd), args];
    const r = spawnSync(file, argv, { encoding: 'utf8', cwd: dir, timeout: 60_000 });
    if (r.status !== 0)
      throw new Error(`${cmd} ${args.join(' ')} failed (${r.error?.message ?? r.signal ?? r.status}):\n${r.stdout}\n${r.stderr}`);
  };
  try {
    // --no-sync: the cluster's own files need no fsync (it is thrown away); the server runs with fsync=on.
    run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--no-locale']);
    const port = await freePort();
    run('pg_ctl', [
      '-D',
      data,
      '-l',
      join(dir, 'server.log'),
      '-w',
      '-t',
      '60',
      '-o',
      `-p ${port} -k ${socketDir} -c listen_addresses=127.0.0.1 -c fsync=on`,
      'start',
    ]);
    // Should this process die without its teardown (SIGKILL), the cluster goes with it: a watchdog polls for it.
    const stopCmd = [...(asRoot ? ['runuser', '-u', 'postgres', '--'] : []), join(bin, 'pg_ctl'), '-D', data, '-m', 'immediate', 'stop'];
    spawn(
      'sh',
      [
        '-c',
        'while kill -0 "$PID" 2>/dev/null && [ -d "$DIR" ]; do sleep 2; done; [ -d "$DIR" ] || exit 0; "$@" >/dev/null 2>&1; rm -rf "$DIR"',
        'cgihost-pg-watchdog',
        ...stopCmd,
      ],
      { detached: true, stdio: 'ignore', env: { ...process.env, PID: String(process.pid), DIR: dir } },
    ).unref();
    let stopped = false;
    return {
      url: `postgres://postgres@127.0.0.1:${port}/postgres`,
      stop() {
        if (stopped) return;
        stopped = true;
        try {
          run('pg_ctl', ['-D', data, '-m', 'immediate', 'stop']);
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
