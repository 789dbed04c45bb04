/** Helpers of the CGI-platform tests (SPEC §8): calling the kv fixture, reading the queue admin API. */
import type { ApiResponse, RunningHost } from '../helpers/index.js';

export type Key = Array<string | number>;

/** Calls a copy of test/fixtures/cgis/platform/kv.ts served as `cgi`; throws on anything but 200 unless `allowError`. */
export async function kv(host: RunningHost, cgi: string, body: Record<string, unknown>, allowError = false): Promise<ApiResponse> {
  const res = await host.post(cgi, body);
  if (res.status !== 200 && !allowError)
    throw new Error(`${cgi} ${JSON.stringify(body).slice(0, 200)} answered ${res.status}: ${res.text}`);
  return res;
}

export async function listAll(
  host: RunningHost,
  cgi: string,
  list: Record<string, unknown> = {},
): Promise<Array<{ key: Key; value: unknown; version: string }>> {
  const out = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 100; pages++) {
    const res = await kv(host, cgi, { op: 'list', list: { ...list, cursor } });
    out.push(...res.body.entries);
    cursor = res.body.cursor;
    if (!cursor) return out;
  }
  throw new Error('more than 100 pages');
}

export interface TopicRow {
  topic: string;
  depth: number;
  lagSeconds: number;
  retries: number;
  deadLetters: number;
  consumer: { name: string; state: string } | null;
  inflight: number;
  done: number;
  failed: number;
}

export async function topic(host: RunningHost, name: string): Promise<TopicRow | undefined> {
  const res = await host.get('/_host/api/queue');
  if (res.status !== 200) throw new Error(`/_host/api/queue answered ${res.status}: ${res.text}`);
  return (res.body.topics as TopicRow[]).find((t) => t.topic === name);
}

/** A value of a kv key through the fixture (null when absent). */
export async function value(host: RunningHost, cgi: string, key: Key): Promise<unknown> {
  return (await kv(host, cgi, { op: 'get', key })).body.entry?.value ?? null;
}

/** POST to an admin path (served to loopback clients without a token). */
export async function adminPost(host: RunningHost, path: string, body?: unknown): Promise<ApiResponse> {
  const res = await fetch(host.url + path, {
    method: 'POST',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}
