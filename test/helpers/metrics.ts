/** Reading /metrics: the Prometheus text exposition prom-client writes. */
import type { RunningHost } from './host.js';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the samples of a Prometheus text exposition. */
export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** The value of the one sample of `name` whose labels include `labels`; undefined when none; the sum when several. */
export function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const hits = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return hits.length ? hits.reduce((n, s) => n + s.value, 0) : undefined;
}

/** GET /metrics (with the admin token if given) and parse it; throws on a non-200. */
export async function scrape(host: RunningHost, token?: string): Promise<Sample[]> {
  const res = await host.get('/metrics', { token });
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}: ${res.text.slice(0, 300)}`);
  return parseMetrics(res.text);
}

/** One series with exactly these labels (none, or e.g. `{ topic: 'webhook' }`); undefined when absent. */
export async function metric(host: RunningHost, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const want = Object.entries(labels).sort();
  const hit = (await scrape(host)).find((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === JSON.stringify(want));
  return hit?.value;
}
