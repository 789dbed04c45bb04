/**
 * SPEC §5: SIGTERM or SIGINT — stop accepting, finish in-flight requests,
 * persist, exit 0.
 */
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { type ApiResponse, cgiSummary, type RunningHost, startHost, waitFor } from '../helpers/index.js';

/** Resolves true when a new TCP connection to the port is refused. */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED'));
  });
}

async function drainsOn(signal: NodeJS.Signals): Promise<void> {
  const host: RunningHost = await startHost({
    files: { 'slow/slow.ts': '@slow/slow.ts' },
    config: { watch: false },
  });
  try {
    let settled: ApiResponse | undefined;
    const inFlight = host.post('slow', { ms: 2_000 }).then((r) => (settled = r));
    await waitFor(async () => (await cgiSummary(host, 'slow')).inflight === 1, 5_000, 10);
    const exit = host.stop(signal);
    // New connections are refused while the slow request is still being served.
    await waitFor(() => refused(host.port), 1_500, 10);
    expect(settled).toBeUndefined();
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ slept: 2_000 });
    expect(await exit).toBe(0);
    expect(host.proc.signalCode).toBeNull();
    expect(host.output()).toMatch(/stopping/);
  } finally {
    await host.kill();
  }
}

describe.concurrent('graceful stop', () => {
  it('SIGTERM with a request in flight: it completes 200, new connections are refused, exit 0', () => drainsOn('SIGTERM'));
  it('SIGINT with a request in flight: the same', () => drainsOn('SIGINT'));

  it('SIGTERM when idle exits 0 promptly', async () => {
    const host = await startHost({ files: { 'slow/slow.ts': '@slow/slow.ts' } });
    try {
      const t0 = Date.now();
      const code = await host.stop('SIGTERM');
      // Promptly: not after limits.shutdownTimeoutMs (15 s), which is for requests in flight.
      expect({ code, fast: Date.now() - t0 < 8_000 }).toEqual({ code: 0, fast: true });
    } finally {
      await host.kill();
    }
  });
});

describe('a host whose supervisor goes away', () => {
  it('stops by itself, exit 0, when CGIHOST_STOP_ON_STDIN_EOF is set and its stdin closes (no orphaned test hosts)', async () => {
    const host = await startHost({ config: { watch: false } });
    const exited = new Promise<number | null>((r) => host.proc.once('exit', (code) => r(code)));
    host.proc.stdin!.end();
    expect(await exited).toBe(0);
    expect(host.output()).toMatch(/stdin closed/);
  });
});
