/**
 * SPEC §5: a CGI that crashes repeatedly is quarantined (503 CGI_UNAVAILABLE
 * at once) and re-probed with backoff; one crash soon after a probe sends it
 * straight back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { timed } from './support.js';
import { cgiSummary, expectError, type RunningHost, startHost, waitFor } from '../helpers/index.js';

let host: RunningHost;

beforeAll(async () => {
  host = await startHost({
    files: { 'basic/echo.ts': '@basic/echo.ts', 'faults/exits.ts': '@faults/exits.ts' },
    config: { watch: false, faults: { crashLimit: 3, crashWindowMs: 10_000, probeInitialMs: 500, heartbeatMs: 25 } },
  });
});

afterAll(async () => {
  await host?.kill();
});

describe('quarantine (crashLimit 3 in 10 s, first probe after 500 ms)', () => {
  it('three crashes: each request gets 502 CGI_CRASHED', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await host.post('exits', { exit: true });
      expectError(res, 502, 'CGI_CRASHED');
    }
  });

  it('the next request gets 503 CGI_UNAVAILABLE at once', async () => {
    const { value: res, ms } = await timed(() => host.post('exits', { exit: false }));
    expectError(res, 503, 'CGI_UNAVAILABLE');
    // Not waiting for a worker (5 s) nor for the CGI's timeout; the bound leaves room for a busy machine.
    expect(ms).toBeLessThan(1_000);
  });

  it('the admin API shows it quarantined, and the log says so', async () => {
    const s = await cgiSummary(host, 'exits');
    expect(s.state).toBe('quarantined');
    expect(s.restarts).toBe(3);
    expect(host.output()).toMatch(/quarantine/i);
  });

  it('echo answers meanwhile', async () => {
    const res = await host.post('echo', { text: 'fine' });
    expect(res.status).toBe(200);
    expect((await cgiSummary(host, 'echo')).state).toBe('ready');
  });

  it('is re-probed after the probe delay: ready again, and answers', async () => {
    await waitFor(async () => (await cgiSummary(host, 'exits')).state === 'ready', 3_000);
    const res = await host.post('exits', { exit: false });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: true });
  });

  it('one crash soon after the probe sends it straight back, and the next probe waits longer', async () => {
    const crash = await host.post('exits', { exit: true });
    expectError(crash, 502, 'CGI_CRASHED');
    const quarantinedAt = Date.now();
    const res = await host.post('exits', { exit: false });
    expectError(res, 503, 'CGI_UNAVAILABLE');
    expect((await cgiSummary(host, 'exits')).state).toBe('quarantined');
    // Backoff: the second probe comes after 1 s, not 500 ms.
    await waitFor(async () => (await cgiSummary(host, 'exits')).state === 'ready', 4_000);
    expect(Date.now() - quarantinedAt).toBeGreaterThanOrEqual(900);
    const again = await host.post('exits', { exit: false });
    expect(again.status).toBe(200);
  });
});
