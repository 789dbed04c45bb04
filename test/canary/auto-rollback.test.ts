/**
 * Issue 3: a canary whose 5xx rate exceeds stable's by the margin is rolled
 * back to 0% by itself, with an alert, within its first 50 requests under the
 * default policy; stable serves throughout.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketOf } from '../../src/host/canary.js';
import { probe, versionCgi } from '../reload/support.js';
import { untilAll } from './support.js';
import {
  adminCgi,
  copyProjectCgis,
  newUsers,
  type RunningHost,
  startHost,
  tempDir,
  type User,
  waitFor,
  writeCgis,
} from '../helpers/index.js';

describe('automatic canary rollback', () => {
  let host: RunningHost;
  let users: User[];
  beforeAll(async () => {
    const cgisDir = tempDir('cgihost-canary-auto-');
    copyProjectCgis(cgisDir, 'account', '_shared');
    writeCgis(cgisDir, {
      'exp/flaky.ts': versionCgi({ v: 'stable', auth: 'user' }),
      // Plain Error: a 500 INTERNAL on every request.
      'exp/flaky.canary.ts': versionCgi({ v: 'canary', auth: 'user', throws: true }),
    });
    host = await startHost({ cgisDir, config: { canary: { flaky: { percent: 50 } } } });
    users = await newUsers(host, 12);
  }, 120_000);
  afterAll(async () => {
    await host?.stop();
  });

  it('a canary answering 500 to every request is at 0% after at most 50 canary requests, with an alert; stable serves throughout', async () => {
    const canaryUsers = users.filter((u) => bucketOf('flaky', u.uid) < 50);
    const stableUsers = users.filter((u) => bucketOf('flaky', u.uid) >= 50);
    expect(canaryUsers.length, 'some of the users fall in the canary half').toBeGreaterThan(0);
    const { canaryVersion, version: stableVersion } = await adminCgi(host, 'flaky');
    expect(canaryVersion).toMatch(/^[0-9a-f]{6,}$/);

    let canaryRequests = 0;
    let stableFailures = 0;
    // Canary and stable traffic interleaved, one at a time, as long as the canary still gets traffic.
    for (let i = 0; i < 60; i++) {
      const u = canaryUsers[i % canaryUsers.length]!;
      const p = await probe(host, 'flaky', u.token);
      if (p.version !== canaryVersion) break;
      canaryRequests++;
      expect(p).toMatchObject({ status: 500, code: 'INTERNAL' });
      const s = stableUsers.length ? await probe(host, 'flaky', stableUsers[i % stableUsers.length]!.token) : undefined;
      if (s && (s.status !== 200 || s.v !== 'stable')) stableFailures++;
    }
    console.log(`canary rolled back after ${canaryRequests} canary requests`);
    expect(canaryRequests).toBeGreaterThan(0);
    expect(canaryRequests).toBeLessThanOrEqual(50);
    expect(stableFailures).toBe(0);

    const s = await adminCgi(host, 'flaky');
    expect(s.canaryPercent).toBe(0);
    expect(s.versions.canary.errors5xx).toBe(canaryRequests);
    expect(s.versions.stable.errors5xx).toBe(0);
    // The alert is logged, naming the CGI.
    await waitFor(() => /canary[ _]rolled[ _]back/.test(host.output()) && host.output().includes('flaky'), 2_000);
    const line = host
      .output()
      .split('\n')
      .find((l) => /canary[ _]rolled[ _]back/.test(l))!;
    expect(line).toMatch(/flaky/);

    // Everybody is on stable now, and it works.
    await untilAll(host, 'flaky', users, (p) => p.status === 200 && p.v === 'stable' && p.version === stableVersion, 5_000);
  });
});
