// Runs one load against a URL with wrk (preferred: native, so on 2 cores it
// takes less CPU away from the server under test) or autocannon (fallback,
// in-process). Both paths return the same figures:
//   { tool, rps, requests, durationS, p50, p90, p99, max (ms), non2xx, errors }
//
// A body can be static (`body`) or made per request from `bodyTemplate`, where
// every `{{id}}` becomes an id unique within the whole run (`<run>-<thread>-<n>`,
// only [A-Za-z0-9-]), e.g. a fresh clientMsgId for every sendmsg.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

let wrkPresent;
export function hasWrk() {
  wrkPresent ??= spawnSync('wrk', ['--version'], { stdio: 'ignore' }).error === undefined;
  return wrkPresent;
}

/** 'wrk' | 'autocannon', from an explicit choice, BENCH_TOOL, or what is installed. */
export function pickTool(choice = process.env.BENCH_TOOL || 'auto') {
  if (choice === 'wrk' && !hasWrk()) throw new Error('wrk requested but not installed (apt-get install -y wrk)');
  if (choice === 'wrk' || choice === 'autocannon') return choice;
  return hasWrk() ? 'wrk' : 'autocannon';
}

/**
 * @param {object} o
 * @param {string} o.url
 * @param {string} [o.method]  default POST when there is a body, else GET
 * @param {string|object} [o.body]  objects are JSON-encoded
 * @param {string} [o.bodyTemplate]  per-request body; `{{id}}` is replaced by a unique id
 * @param {Record<string,string>} [o.headers]
 * @param {number} [o.connections] default 50
 * @param {number} [o.durationS] default 5
 * @param {number} [o.threads] wrk threads, default 1
 * @param {number} [o.timeoutS] per-request timeout, default 10
 * @param {string} [o.tool] 'wrk' | 'autocannon' | 'auto'
 */
export async function runLoad(o) {
  const body = typeof o.body === 'object' && o.body !== null ? JSON.stringify(o.body) : o.body;
  const opts = {
    url: o.url,
    method: o.method ?? (body !== undefined || o.bodyTemplate !== undefined ? 'POST' : 'GET'),
    body,
    bodyTemplate: o.bodyTemplate,
    headers: { ...(body !== undefined || o.bodyTemplate !== undefined ? { 'content-type': 'application/json' } : {}), ...o.headers },
    connections: o.connections ?? 50,
    durationS: o.durationS ?? 5,
    threads: o.threads ?? 1,
    timeoutS: o.timeoutS ?? 10,
    runId: randomBytes(3).toString('hex'),
  };
  const url = new URL(opts.url);
  if (url.hostname !== '127.0.0.1' && url.hostname !== 'localhost')
    throw new Error(`bench traffic goes to loopback only, not ${url.hostname}`);
  const tool = pickTool(o.tool);
  return tool === 'wrk' ? runWrk(opts) : runAutocannon(opts);
}

// Lua string literal with every byte outside printable ASCII (and quotes,
// backslashes) as a decimal escape, so any body survives the trip into Lua.
export function luaString(s) {
  let out = '"';
  for (const b of Buffer.from(s, 'utf8')) {
    out += b >= 0x20 && b < 0x7f && b !== 0x22 && b !== 0x5c ? String.fromCharCode(b) : `\\${b}`;
  }
  return out + '"';
}

function wrkScript(opts) {
  const lines = [`wrk.method = ${luaString(opts.method)}`];
  for (const [k, v] of Object.entries(opts.headers)) lines.push(`wrk.headers[${luaString(k)}] = ${luaString(v)}`);
  if (opts.body !== undefined) lines.push(`wrk.body = ${luaString(opts.body)}`);
  if (opts.bodyTemplate !== undefined) {
    // A `request` function makes wrk build every request in Lua (slower than
    // its pre-built one), so it is only defined when bodies must differ.
    lines.push(
      `local template = ${luaString(opts.bodyTemplate)}`,
      'local nextThread = 0',
      'function setup(thread) thread:set("tid", nextThread); nextThread = nextThread + 1 end',
      'local counter = 0',
      'request = function()',
      '  counter = counter + 1',
      `  local id = ${luaString(opts.runId + '-')} .. tostring(tid) .. "-" .. tostring(counter)`,
      '  local b = string.gsub(template, "{{id}}", id)',
      '  return wrk.format(nil, nil, nil, b)',
      'end',
    );
  }
  lines.push(...WRK_DONE);
  return lines.join('\n') + '\n';
}

/** The Lua `done` of every wrk script here: prints the summary as one WRKJSON line for runWrkScript. */
export const WRK_DONE = [
  'function done(summary, latency, requests)',
  '  local e = summary.errors',
  '  io.write(string.format("WRKJSON {\\"requests\\":%d,\\"duration_us\\":%d,\\"connect\\":%d,\\"read\\":%d,\\"write\\":%d,\\"status\\":%d,\\"timeout\\":%d,\\"p50\\":%d,\\"p90\\":%d,\\"p99\\":%d,\\"max\\":%d}\\n",',
  '    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,',
  '    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))',
  'end',
];

function runWrk(opts) {
  return runWrkScript({ ...opts, script: wrkScript(opts) });
}

/** Runs wrk with a Lua script that ends in WRK_DONE, and reads its summary. */
export async function runWrkScript({ script, url, threads = 1, connections, durationS, timeoutS = 10 }) {
  const dir = mkdtempSync(join(tmpdir(), 'cgihost-bench-wrk-'));
  const file = join(dir, 'load.lua');
  writeFileSync(file, script);
  const args = ['-t', String(threads), '-c', String(connections), '-d', `${durationS}s`, '--timeout', `${timeoutS}s`, '-s', file, url];
  try {
    const { code, stdout, stderr } = await collect(spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] }));
    const line = stdout.split('\n').find((l) => l.startsWith('WRKJSON '));
    if (code !== 0 || !line) throw new Error(`wrk failed (exit ${code}): ${stderr || stdout}`);
    const r = JSON.parse(line.slice(8));
    const secs = r.duration_us / 1e6;
    return {
      tool: 'wrk',
      requests: r.requests,
      durationS: secs,
      rps: r.requests / secs,
      p50: r.p50 / 1000,
      p90: r.p90 / 1000,
      p99: r.p99 / 1000,
      max: r.max / 1000,
      // wrk counts statuses >= 400 only; the echo benches never see 1xx/3xx.
      non2xx: r.status,
      errors: r.connect + r.read + r.write + r.timeout,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function collect(child) {
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function runAutocannon(opts) {
  const { default: autocannon } = await import('autocannon');
  const ac = {
    url: opts.url,
    method: opts.method,
    headers: opts.headers,
    body: opts.body,
    connections: opts.connections,
    duration: opts.durationS,
    timeout: opts.timeoutS,
    pipelining: 1,
  };
  if (opts.bodyTemplate !== undefined) {
    let counter = 0;
    ac.requests = [
      {
        method: opts.method,
        setupRequest: (req) => {
          counter += 1;
          return { ...req, body: opts.bodyTemplate.replaceAll('{{id}}', `${opts.runId}-0-${counter}`) };
        },
      },
    ];
  }
  const r = await autocannon(ac);
  const requests = r.requests.total;
  return {
    tool: 'autocannon',
    requests,
    durationS: r.duration,
    rps: requests / r.duration,
    p50: r.latency.p50,
    p90: r.latency.p90,
    p99: r.latency.p99,
    max: r.latency.max,
    non2xx: r.non2xx,
    errors: r.errors,
  };
}
