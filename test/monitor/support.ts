/** Tiny CGIs written inline, and a reader for the Prometheus text of /metrics. */
import type { RunningHost } from '../helpers/host.js';

const cgi = (handler: string, input = 'z.object({})') => `import { defineCgi, z } from 'cgihost';
export default defineCgi({
  apiVersion: 1,
  auth: 'none',
  input: ${input},
  output: z.object({}).passthrough(),
  handler: ${handler},
});
`;

/** group/name.ts -> source. */
export const CGIS = {
  /** Answers 200. */
  'demo/ok.ts': cgi(`(input) => ({ echo: input.text })`, 'z.object({ text: z.string() })'),
  /** Throws a plain Error: 500 INTERNAL, logged as the CGI's fault. */
  'demo/fail.ts': cgi(`() => { throw new Error('kaboom in fail'); }`),
  /** Ends its worker's thread from inside the handler: 502 CGI_CRASHED, a restart with reason "exit". */
  'demo/crash.ts': cgi(`() => { process.exit(7); }`),
};

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the samples of a Prometheus text exposition (what prom-client wrote). */
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

export async function scrape(host: RunningHost, token?: string): Promise<Sample[]> {
  const res = await host.get('/metrics', { token });
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}: ${res.text.slice(0, 300)}`);
  return parseMetrics(res.text);
}
