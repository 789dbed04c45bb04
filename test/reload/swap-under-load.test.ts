/**
 * SPEC §5: a swap fails no request. Twenty clients call the CGI back to back
 * while its file is rewritten five times; every answer must be a 200, and
 * every version must have been seen serving.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cgiPath, SETTLE_MS, untilServes, versionCgi } from './support.js';
import { type RunningHost, startHost, waitFor, writeFile } from '../helpers/index.js';

const CLIENTS = 20;
const SWAPS = 5;

describe('swap under concurrent load', () => {
  let host: RunningHost;
  beforeAll(async () => {
    host = await startHost({ files: { 'demo/busy.ts': versionCgi({ v: 'v0' }) } });
  });
  afterAll(async () => {
    await host?.stop();
  });

  it(`${CLIENTS} clients, ${SWAPS} rewrites: zero non-200 answers, every version observed`, async () => {
    await untilServes(host, 'busy', 'v0');
    let running = true;
    const seen = new Map<string, number>(); // v -> count
    const versions = new Map<string, string>(); // v -> x-cgi-version
    const failures: string[] = [];
    let total = 0;
    const client = async () => {
      while (running) {
        try {
          const r = await fetch(`${host.url}/cgi-bin/busy`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: '{}',
          });
          const text = await r.text();
          total++;
          if (r.status !== 200) {
            failures.push(`${r.status} ${text.slice(0, 200)}`);
            continue;
          }
          const v = JSON.parse(text).v as string;
          seen.set(v, (seen.get(v) ?? 0) + 1);
          const hv = r.headers.get('x-cgi-version')!;
          if (versions.has(v) && versions.get(v) !== hv) failures.push(`v=${v} came with two versions: ${versions.get(v)} and ${hv}`);
          versions.set(v, hv);
        } catch (e) {
          total++;
          failures.push(`request failed: ${(e as Error).message}`);
        }
      }
    };
    const clients = Array.from({ length: CLIENTS }, client);
    const servedAWhile = (v: string) => waitFor(() => (seen.get(v) ?? 0) >= CLIENTS, SETTLE_MS, { what: `${CLIENTS} answers from ${v}` });
    try {
      for (let i = 1; i <= SWAPS; i++) {
        // Let the load run on the current version a while (some answers from it), then rewrite.
        await servedAWhile(`v${i - 1}`);
        writeFile(cgiPath(host, 'demo/busy.ts'), versionCgi({ v: `v${i}` }));
        // The swap serves before the next rewrite, so every version serves for a while.
        await waitFor(() => seen.has(`v${i}`), SETTLE_MS, { everyMs: 10, what: `v${i} to serve` });
      }
      await servedAWhile(`v${SWAPS}`);
    } finally {
      running = false;
      await Promise.all(clients);
    }
    console.log(`swap under load: ${total} requests, per version ${JSON.stringify(Object.fromEntries(seen))}`);
    expect(failures.slice(0, 10)).toEqual([]);
    for (let i = 0; i <= SWAPS; i++) expect(seen.get(`v${i}`) ?? 0, `v${i} served`).toBeGreaterThan(0);
    expect(new Set(versions.values()).size).toBe(SWAPS + 1);
    expect(total).toBeGreaterThan(100);
  });
});
