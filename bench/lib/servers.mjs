// Starts the servers under test as child processes and stops them cleanly.
//   startBaseline()            bench/baseline/echo-server.mjs (bare node:http)
//   startHop()                 bench/baseline/hop-server.mjs (bare node:http + one worker hop)
//   startHopRing()             bench/baseline/hop-ring-server.mjs (the same hop through shared-memory rings)
//   startHost({ cgisDir, ... }) node dist/cli.js start on a random port, temp data dir
// Each resolves, once the child printed `listening on http://HOST:PORT`, to
//   { name, url, pid, child, spawnedAt, readyMs, logTail(), outputBytes(), stop() }
// where readyMs is the time from spawn to that line.
//   startBareThreads(n)        a bare node process holding n worker threads that do nothing (the floor),
//                              once all have run: { pid, readyMs, kill() }
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
// CGIHOST_BENCH_CLI points the benches at another build of the host CLI.
export const HOST_CLI = process.env.CGIHOST_BENCH_CLI || join(ROOT, 'dist', 'cli.js');
const BASELINE = join(ROOT, 'bench', 'baseline', 'echo-server.mjs');
const HOP = join(ROOT, 'bench', 'baseline', 'hop-server.mjs');
const HOP_RING = join(ROOT, 'bench', 'baseline', 'hop-ring-server.mjs');
const READY = /listening on (http:\/\/\S+?)\/?(\s|$)/;
const TAIL_LINES = 60;

// Children still alive when the bench dies are killed, never left behind.
const live = new Set();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

export function startBaseline({ env } = {}) {
  return startProcess({ name: 'bare', args: [BASELINE, '--port', '0', '--host', '127.0.0.1'], env });
}

export function startHop({ env } = {}) {
  return startProcess({ name: 'hop', args: [HOP, '--port', '0', '--host', '127.0.0.1'], env });
}

export function startHopRing({ env } = {}) {
  return startProcess({ name: 'ring', args: [HOP_RING, '--port', '0', '--host', '127.0.0.1'], env });
}

/**
 * The floor of one thread per CGI: a bare node process starting `n` worker
 * threads that run no code of their own (each kept alive by its listening
 * port, no timer anywhere). Resolves once every thread has run, to
 * { pid, readyMs (spawn -> all up), kill() }.
 */
export async function startBareThreads(n) {
  const code = `const { Worker } = require('node:worker_threads');
let up = 0;
for (let i = 0; i < ${n}; i++) {
  const w = new Worker('const p = require("node:worker_threads").parentPort; p.on("message", () => {}); p.postMessage(1)', { eval: true });
  w.once('message', () => { if (++up === ${n}) console.log('up'); });
}`;
  const spawnedAt = performance.now();
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  live.add(child);
  child.once('exit', () => live.delete(child));
  try {
    await new Promise((resolve, reject) => {
      child.once('exit', (c) => reject(new Error(`bare threads exited early (${c})`)));
      child.stdout.on('data', (d) => String(d).includes('up') && resolve());
    });
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return { pid: child.pid, readyMs: performance.now() - spawnedAt, kill: () => child.kill('SIGKILL') };
}

/**
 * @param {object} o
 * @param {string} o.cgisDir
 * @param {string} [o.configFile]
 * @param {string} [o.dataDir] default: a fresh temp dir, removed on stop()
 * @param {string[]} [o.extraArgs]
 * @param {number} [o.readyTimeoutMs]
 * @param {string[]} [o.nodeArgs] node options for this host, after BENCH_HOST_NODE_ARGS (an A/B side of a bench)
 * @param {string} [o.cli] another build's dist/cli.js for this host (an A/B side against another branch)
 */
let configs = 0;

export function startHost({
  cgisDir,
  configFile,
  dataDir,
  extraArgs = [],
  env,
  readyTimeoutMs,
  nodeArgs: ownNodeArgs = [],
  cli = HOST_CLI,
} = {}) {
  if (!existsSync(cli)) {
    return Promise.reject(new Error(`${cli} is missing: run \`npm run build\` first`));
  }
  const ownDataDir = dataDir === undefined;
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'cgihost-bench-data-'));
  // BENCH_HOST_NODE_ARGS: node options for the host only, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile it under load.
  const nodeArgs = [...(process.env.BENCH_HOST_NODE_ARGS ?? '').split(' ').filter(Boolean), ...ownNodeArgs];
  const args = [...nodeArgs, cli, 'start', '--port', '0', '--host', '127.0.0.1', '--data-dir', dir, '--cgis-dir', cgisDir];
  // A benchmark measures throughput, not the abuse limits: its few senders send far more than limits.sendPerMinute (600)
  // allows, and its clients (all on 127.0.0.1) hold more than limits.connectionsPerAddress (256) connections (fanout's
  // 500 long-polls). The config file given (if any) is copied with both switched off, unless it sets them itself.
  const config = configFile ? JSON.parse(readFileSync(configFile, 'utf8')) : {};
  config.limits = { sendPerMinute: 0, connectionsPerAddress: 0, ...config.limits };
  // Beside the original: relative paths in a config file are relative to the file.
  const benchConfig = join(configFile ? dirname(configFile) : tmpdir(), `.cgihost-bench-${process.pid}-${++configs}.config.json`);
  writeFileSync(benchConfig, JSON.stringify(config));
  args.push('--config', benchConfig);
  args.push(...extraArgs);
  return startProcess({
    name: 'host',
    args,
    // As bin/cgihost.js (npm start, the cgihost command) starts the host: glibc's mmap threshold fixed.
    env: { MALLOC_MMAP_THRESHOLD_: process.env.MALLOC_MMAP_THRESHOLD_ ?? '131072', ...env },
    readyTimeoutMs,
    cleanup: () => {
      if (ownDataDir) rmSync(dir, { recursive: true, force: true });
      rmSync(benchConfig, { force: true });
    },
  });
}

function startProcess({ name, args, env, readyTimeoutMs = 30_000, cleanup = () => {} }) {
  const spawnedAt = performance.now();
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  const tail = [];
  let bytes = 0;
  let bytesAtReady = 0;
  let exited = null;
  const exit = new Promise((resolve) =>
    child.on('exit', (code, signal) => {
      live.delete(child);
      exited = { code, signal };
      resolve(exited);
    }),
  );

  return new Promise((resolve, reject) => {
    let ready = false;
    const timer = setTimeout(() => fail(new Error(`${name}: not ready after ${readyTimeoutMs} ms`)), readyTimeoutMs);
    const fail = (err) => {
      if (ready) return;
      ready = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      cleanup();
      err.message += `\n--- ${name} output (last lines) ---\n${tail.join('\n')}`;
      reject(err);
    };
    const onLine = (line) => {
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
      const m = !ready && READY.exec(line);
      if (!m) return;
      ready = true;
      clearTimeout(timer);
      bytesAtReady = bytes;
      resolve({
        name,
        url: m[1],
        pid: child.pid,
        child,
        spawnedAt, // performance.now() just before spawn
        readyMs: performance.now() - spawnedAt,
        logTail: () => tail.join('\n'),
        // How much the child logged since it was ready: a host that logs every
        // request pays for it under load, and this shows it.
        outputBytes: () => bytes - bytesAtReady,
        stop: () => stop(child, exit, cleanup),
      });
    };
    for (const stream of [child.stdout, child.stderr]) {
      let buf = '';
      stream.setEncoding('utf8');
      stream.on('data', (d) => {
        bytes += Buffer.byteLength(d);
        buf += d;
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          onLine(buf.slice(0, i));
          buf = buf.slice(i + 1);
        }
        if (buf.length > 64 * 1024) {
          onLine(buf);
          buf = '';
        }
      });
    }
    child.on('error', fail);
    exit.then(({ code, signal }) => fail(new Error(`${name} exited before ready (code ${code}, signal ${signal})`)));
  });
}

/** SIGTERM, wait up to timeoutMs for a clean exit, then SIGKILL. Resolves to { code, signal, killed }. */
async function stop(child, exit, cleanup, timeoutMs = 10_000) {
  let killed = false;
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    const t = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    await exit;
    clearTimeout(t);
  }
  const { code, signal } = await exit;
  cleanup();
  return { code, signal, killed };
}

/**
 * Stops started servers in turn (`{ name: server }`, absent ones skipped),
 * saying which did not exit cleanly: a bench's figures from a host that had
 * to be killed deserve a second look.
 */
export async function stopServers(servers) {
  for (const [name, server] of Object.entries(servers)) {
    if (!server) continue;
    const { code, signal, killed } = await server.stop();
    if (code !== 0 || killed)
      console.log(`warning: ${name} stopped with code ${code} signal ${signal}${killed ? ' (SIGKILLed after timeout)' : ''}`);
  }
}

/** VmRSS and VmHWM (bytes) of one process from /proc; null when it is gone. */
export function procMemory(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key) => Number((new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status) ?? [])[1]) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return null;
  }
}

/** The pids of a process and all its descendants (e.g. an esbuild service child). */
export function processTree(pid) {
  const parent = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Field 4 of stat is the ppid; the command name (field 2) may hold spaces.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parent.set(Number(entry), ppid);
    } catch {
      /* the process ended meanwhile */
    }
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) {
    for (const [p, pp] of parent) if (pp === tree[i]) tree.push(p);
  }
  return tree;
}

/** RSS (bytes) of a process and of its whole tree. */
export function treeRss(pid) {
  const own = procMemory(pid);
  const total = processTree(pid).reduce((sum, p) => sum + (procMemory(p)?.rss || 0), 0);
  return { rss: own?.rss ?? NaN, hwm: own?.hwm ?? NaN, treeRss: total };
}

const TICK_MS = 1000 / 100; // USER_HZ is 100 on Linux

/** CPU time (ms) of one process's main thread alone: what bounds a server whose other threads have a core of their own. */
export function mainThreadCpuTimeMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * TICK_MS;
  } catch {
    return NaN;
  }
}

/** User+system CPU time (ms) used so far by a process and its live descendants, all threads included. */
export function cpuTimeMs(pid) {
  let total = 0;
  for (const p of processTree(pid)) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(f[11]) + Number(f[12])) * TICK_MS; // utime, stime: fields 14 and 15
    } catch {
      /* ended meanwhile */
    }
  }
  return total;
}
