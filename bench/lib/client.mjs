// One-off requests for sanity checks and polling (not for load: see load.mjs).
// `via: 'http'` sends it with node:http over a kept-alive connection instead of
// fetch (undici): a lighter client for latency samples, whose own share of a
// round trip on an idle machine is ~1 ms less at the median than fetch's here.
import http from 'node:http';

const keepAlive = new http.Agent({ keepAlive: true });

export async function postJson(url, body, { headers = {}, timeoutMs = 5_000, via = 'fetch' } = {}) {
  if (via === 'http') return postJsonHttp(url, body, headers, timeoutMs);
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  return answer(res.status, res.headers, await res.text());
}

/** What postJson resolves to: the status, the headers (a Headers), the body's text and, if it is JSON, its value. */
function answer(status, headers, text) {
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status, headers, text, json };
}

function postJsonHttp(url, body, headers, timeoutMs) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent: keepAlive,
        headers: { 'content-type': 'application/json', ...headers },
        signal: AbortSignal.timeout(timeoutMs),
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers)) for (const one of [v].flat()) if (one !== undefined) h.append(k, one);
          resolve(answer(res.statusCode, h, Buffer.concat(chunks).toString()));
        });
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
