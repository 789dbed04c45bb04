/**
 * SPEC §5 Canary, over a real host with real users: `<name>.canary.ts`
 * beside `<name>.ts` serves the configured share of users, chosen by a stable
 * hash of the uid; requests without a uid get the stable version.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketOf } from '../../src/host/canary.js';
import { probe, versionCgi } from '../reload/support.js';
import { callAll } from './support.js';
import { adminCgi, copyProjectCgis, newUsers, type RunningHost, startHost, tempDir, type User, writeCgis } from '../helpers/index.js';

const USERS = 40;

describe('canary split by uid', () => {
  let host: RunningHost;
  let users: User[];
  beforeAll(async () => {
    const cgisDir = tempDir('cgihost-canary-');
    copyProjectCgis(cgisDir, 'account', '_shared');
    writeCgis(cgisDir, {
      'exp/pick.ts': versionCgi({ v: 'stable', auth: 'user' }),
      'exp/pick.canary.ts': versionCgi({ v: 'canary', auth: 'user' }),
      'exp/anon.ts': versionCgi({ v: 'stable' }),
      'exp/anon.canary.ts': versionCgi({ v: 'canary' }),
    });
    host = await startHost({ cgisDir, config: { canary: { pick: { percent: 50 }, anon: { percent: 100 } } } });
    users = await newUsers(host, USERS);
  }, 120_000);
  afterAll(async () => {
    await host?.stop();
  });

  it('both versions are loaded, with the configured percent, shown in the admin API', async () => {
    const s = await adminCgi(host, 'pick');
    expect(s.canaryPercent).toBe(50);
    expect(s.canaryVersion).toMatch(/^[0-9a-f]{6,}$/);
    expect(s.canaryVersion).not.toBe(s.version);
    expect(s.versions.canary.workers).toBeGreaterThanOrEqual(1);
  });

  it(`each of ${USERS} users always gets the same version, the one their uid's bucket says; the share is about 50%`, async () => {
    const s = await adminCgi(host, 'pick');
    const first = await callAll(host, 'pick', users);
    for (let round = 0; round < 4; round++) {
      const again = await callAll(host, 'pick', users);
      for (const u of users) {
        expect(again.get(u.uid)!.version, `${u.uid} round ${round}`).toBe(first.get(u.uid)!.version);
      }
    }
    let canary = 0;
    for (const u of users) {
      const p = first.get(u.uid)!;
      expect(p.status).toBe(200);
      expect(p.uid).toBe(u.uid);
      const inCanary = bucketOf('pick', u.uid) < 50;
      expect(p.v, `${u.uid} bucket ${bucketOf('pick', u.uid)}`).toBe(inCanary ? 'canary' : 'stable');
      expect(p.version).toBe(inCanary ? s.canaryVersion : s.version);
      if (inCanary) canary++;
    }
    console.log(`canary share: ${canary} of ${USERS}`);
    expect(canary / USERS).toBeGreaterThanOrEqual(0.25);
    expect(canary / USERS).toBeLessThanOrEqual(0.75);
  });

  it('per-version request counts add up in the admin API', async () => {
    const before = await adminCgi(host, 'pick');
    const got = await callAll(host, 'pick', users);
    const canaryCalls = [...got.values()].filter((p) => p.v === 'canary').length;
    const after = await adminCgi(host, 'pick');
    expect(after.versions.canary.requests - before.versions.canary.requests).toBe(canaryCalls);
    expect(after.versions.stable.requests - before.versions.stable.requests).toBe(USERS - canaryCalls);
  });

  it('requests without a uid get the stable version, even at 100%; with a uid they get the canary', async () => {
    for (let i = 0; i < 10; i++) expect(await probe(host, 'anon')).toMatchObject({ status: 200, v: 'stable' });
    // A bad token is no uid either.
    expect(await probe(host, 'anon', 'not-a-real-token-but-long-enough')).toMatchObject({ status: 200, v: 'stable' });
    for (const u of users.slice(0, 5)) expect(await probe(host, 'anon', u.token)).toMatchObject({ status: 200, v: 'canary' });
  });
});
