// Users for the messaging benches, made through HTTP like any client would:
// register + login (two scrypt hashes each, so ~0.1 s of CPU per user; they
// run `concurrency` at a time), plus small helpers for sendmsg / sync / metrics.
//   const users = await makeUsers(url, { prefix: 'snd', count: 8 })
//   -> [{ username, password, uid, token }]
// With `cacheFile`, users already made on a reused data dir are read back
// from it (and their tokens checked) instead of being registered again.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { postJson } from './client.mjs';
import { pickTool, luaString, runWrkScript, WRK_DONE } from './load.mjs';

export const PASSWORD = 'bench-password-1';

/** Registers (409 USERNAME_TAKEN is fine: then only logs in) and logs in one user. */
export async function makeUser(url, username, { password = PASSWORD, timeoutMs = 30_000 } = {}) {
  const reg = await postJson(`${url}/cgi-bin/register`, { username, password }, { timeoutMs });
  if (reg.status !== 200 && !(reg.status === 409 && reg.json?.error?.code === 'USERNAME_TAKEN')) {
    throw new Error(`register ${username}: ${reg.status} ${reg.text.slice(0, 300)}`);
  }
  const log = await postJson(`${url}/cgi-bin/login`, { username, password, deviceId: 'bench' }, { timeoutMs });
  if (log.status !== 200 || !log.json?.token) throw new Error(`login ${username}: ${log.status} ${log.text.slice(0, 300)}`);
  return { username, password, uid: log.json.uid, token: log.json.token };
}

/**
 * `count` users named `${prefix}_${i}`, made `concurrency` at a time.
 * Resolves to the users (in index order) with `ms`, the wall time it took,
 * and `reused`, how many came from `cacheFile`.
 */
export async function makeUsers(url, { prefix, count, concurrency = 8, cacheFile, onProgress } = {}) {
  const t0 = performance.now();
  const users = new Array(count);
  let reused = 0;
  if (cacheFile && existsSync(cacheFile)) {
    const cached = JSON.parse(readFileSync(cacheFile, 'utf8'));
    for (const u of cached[prefix] ?? []) {
      const i = Number(u.username.slice(prefix.length + 1));
      if (Number.isInteger(i) && i < count) users[i] = u;
    }
    // A token of another host's data dir (or a revoked one) would fail every request.
    const probe = users.find(Boolean);
    if (probe && (await sync(url, probe.token, { syncKey: 0, limit: 1 })).status !== 200) users.fill(undefined);
    reused = users.filter(Boolean).length;
  }
  let next = 0;
  let done = reused;
  const lane = async () => {
    while (next < count) {
      const i = next++;
      if (users[i]) continue;
      users[i] = await makeUser(url, `${prefix}_${i}`);
      done++;
      if (onProgress && done % 50 === 0) onProgress(done, count);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  if (cacheFile) {
    const cached = existsSync(cacheFile) ? JSON.parse(readFileSync(cacheFile, 'utf8')) : {};
    cached[prefix] = users;
    writeFileSync(cacheFile, JSON.stringify(cached));
  }
  return Object.assign(users, { ms: performance.now() - t0, reused });
}

export const auth = (token) => ({ authorization: `Bearer ${token}` });

export function sendText(url, token, body, opts = {}) {
  return postJson(`${url}/cgi-bin/sendmsg`, { type: 'text', ...body }, { ...opts, headers: auth(token) });
}

export function sync(url, token, { syncKey = 0, limit = 100, timeoutMs = 0 } = {}, opts = {}) {
  return postJson(`${url}/cgi-bin/sync`, { syncKey, limit, timeoutMs }, { timeoutMs: timeoutMs + 10_000, ...opts, headers: auth(token) });
}

/**
 * Reads a whole inbox from `syncKey` on (limit 500 a call, following
 * continueFlag). Resolves to { messages, syncKey, calls }.
 */
export async function syncAll(url, token, syncKey = 0) {
  const messages = [];
  let calls = 0;
  for (;;) {
    const r = await sync(url, token, { syncKey, limit: 500 }, { timeoutMs: 60_000 });
    calls++;
    if (r.status !== 200) throw new Error(`sync: ${r.status} ${r.text.slice(0, 300)}`);
    for (const m of r.json.messages) messages.push(m);
    syncKey = r.json.syncKey;
    if (!r.json.continueFlag) return { messages, syncKey, calls };
  }
}

/** Checks that seqs run syncKey+1, +2, ... with no gap; returns the first problem or null. */
export function denseProblem(messages, from = 0) {
  for (let i = 0; i < messages.length; i++) {
    if (messages[i].seq !== from + i + 1) return `seq ${messages[i].seq} at position ${i + 1} (expected ${from + i + 1})`;
  }
  return null;
}

/** The host's Prometheus text, parsed to Map('name{labels}' -> number). Loopback needs no token. */
export async function scrapeMetrics(url, { adminToken, timeoutMs = 10_000 } = {}) {
  const res = await fetch(`${url}/metrics`, { headers: adminToken ? auth(adminToken) : {}, signal: AbortSignal.timeout(timeoutMs) });
  if (res.status !== 200) throw new Error(`/metrics: ${res.status}`);
  const out = new Map();
  for (const line of (await res.text()).split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const sp = line.lastIndexOf(' ');
    out.set(line.slice(0, sp), Number(line.slice(sp + 1)));
  }
  return out;
}

/** Sum of every series of a metric whose labels include all of `labels` (e.g. { cgi: 'sendmsg', code: 'OK' }). */
export function metricSum(metrics, name, labels = {}) {
  let sum = 0;
  for (const [key, v] of metrics) {
    const brace = key.indexOf('{');
    const n = brace < 0 ? key : key.slice(0, brace);
    if (n !== name) continue;
    const ls = brace < 0 ? '' : key.slice(brace);
    if (Object.entries(labels).every(([k, val]) => ls.includes(`${k}="${val}"`))) sum += v;
  }
  return sum;
}

// ---------------------------------------------------------------------------
// Load with many senders: runLoad (lib/load.mjs) sends one header set, so one
// token; this one rotates over `variants` ({ headers, bodyTemplate } each), one
// variant per request in turn, with `{{id}}` made unique in the run as in
// runLoad. Same figures as runLoad:
//   { tool, rps, requests, durationS, p50, p90, p99, max (ms), non2xx, errors }

function rotatingScript(path, variants, runId) {
  const lines = ['local variants = {'];
  for (const v of variants) {
    const hs = Object.entries({ 'content-type': 'application/json', ...v.headers }).map(([k, x]) => `[${luaString(k)}] = ${luaString(x)}`);
    lines.push(`  { h = { ${hs.join(', ')} }, b = ${luaString(v.bodyTemplate)} },`);
  }
  lines.push(
    '}',
    'local n = #variants',
    'local nextThread = 0',
    'function setup(thread) thread:set("tid", nextThread); nextThread = nextThread + 1 end',
    'local counter = 0',
    'request = function()',
    '  counter = counter + 1',
    '  local v = variants[(counter % n) + 1]',
    `  local id = ${luaString(runId + '-')} .. tostring(tid) .. "-" .. tostring(counter)`,
    '  local b = string.gsub(v.b, "{{id}}", id)',
    `  return wrk.format("POST", ${luaString(path)}, v.h, b)`,
    'end',
    ...WRK_DONE,
  );
  return lines.join('\n') + '\n';
}

/**
 * @param {object} o
 * @param {string} o.url  full URL (loopback only)
 * @param {{headers?: Record<string,string>, bodyTemplate: string}[]} o.variants
 * @param {number} [o.connections] default 50
 * @param {number} [o.durationS] default 5
 * @param {number} [o.threads] default 1
 * @param {string} [o.tool]
 */
export async function runRotatingLoad(o) {
  const url = new URL(o.url);
  if (url.hostname !== '127.0.0.1' && url.hostname !== 'localhost')
    throw new Error(`bench traffic goes to loopback only, not ${url.hostname}`);
  const connections = o.connections ?? 50;
  const durationS = o.durationS ?? 5;
  const runId = randomBytes(3).toString('hex');
  const tool = pickTool(o.tool);
  if (tool === 'autocannon') return rotatingAutocannon(o, connections, durationS, runId);
  const script = rotatingScript(url.pathname + url.search, o.variants, runId);
  return runWrkScript({ script, url: o.url, threads: o.threads ?? 1, connections, durationS, timeoutS: o.timeoutS ?? 10 });
}

async function rotatingAutocannon(o, connections, durationS, runId) {
  const { default: autocannon } = await import('autocannon');
  let counter = 0;
  const r = await autocannon({
    url: o.url,
    connections,
    duration: durationS,
    timeout: o.timeoutS ?? 10,
    pipelining: 1,
    requests: [
      {
        method: 'POST',
        setupRequest: (req) => {
          counter += 1;
          const v = o.variants[counter % o.variants.length];
          return {
            ...req,
            method: 'POST',
            headers: { 'content-type': 'application/json', ...v.headers },
            body: v.bodyTemplate.replaceAll('{{id}}', `${runId}-0-${counter}`),
          };
        },
      },
    ],
  });
  return {
    tool: 'autocannon',
    requests: r.requests.total,
    durationS: r.duration,
    rps: r.requests.total / r.duration,
    p50: r.latency.p50,
    p90: r.latency.p90,
    p99: r.latency.p99,
    max: r.latency.max,
    non2xx: r.non2xx,
    errors: r.errors,
  };
}
