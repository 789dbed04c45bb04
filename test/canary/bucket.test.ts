/**
 * The canary split and its automatic rollback, deterministically, on the
 * slot itself (no HTTP, no workers started): which uid goes where, and when a failing
 * canary is sent back to 0%. The real-host tests beside this one check the
 * same through HTTP with real users.
 */
import { describe, expect, it, vi } from 'vitest';
import { ConfigSchema } from '../../src/config/schema.js';
import { bucketOf } from '../../src/host/canary.js';
import { Slot, type SlotEnv } from '../../src/host/slot.js';
import { WorkerPool, type PoolKind } from '../../src/host/worker-pool.js';
import type { CompiledCgi } from '../../src/host/compile.js';

const uids = Array.from({ length: 10_000 }, (_, i) => `uid-${i.toString(36)}-${(i * 7919) % 1000}`);

function slotWith(percent: number, policy?: { minRequests?: number; maxErrorRateDelta?: number }) {
  const config = ConfigSchema.parse({ canary: { pick: { percent } }, canaryPolicy: policy ?? {} });
  const alerts: Array<{ name: string; fields: Record<string, unknown> }> = [];
  const logged: string[] = [];
  const log = { info: vi.fn(), warn: vi.fn(), debug: vi.fn(), log: vi.fn(), error: vi.fn((msg: string) => logged.push(msg)) };
  const env = {
    config,
    log,
    workerFile: '',
    connectStore: () => {
      throw new Error('no store in a unit test');
    },
    onWorkerExit: () => {},
    onAlert: (name: string, fields: Record<string, unknown>) => alerts.push({ name, fields }),
    onWorkerLog: () => {},
  } as unknown as SlotEnv;
  const slot = new Slot('pick', 'exp', '/x/exp/pick.ts', env);
  const pool = (kind: PoolKind, version: string, file: string) => {
    const compiled: CompiledCgi = { code: '', version, inputs: [] };
    const launch = () => {
      throw new Error('no workers in a unit test');
    };
    return new WorkerPool(kind, compiled, file, launch, () => {});
  };
  slot.stable = pool('stable', 'stable0000', '/x/exp/pick.ts');
  slot.canary = pool('canary', 'canary0000', '/x/exp/pick.canary.ts');
  return { slot, alerts, logged };
}

describe('bucketOf', () => {
  it('is stable per (cgi, uid) and in 0..99', () => {
    for (const u of uids.slice(0, 500)) {
      const b = bucketOf('pick', u);
      expect(b).toBeGreaterThanOrEqual(0);
      expect(b).toBeLessThan(100);
      expect(Number.isInteger(b)).toBe(true);
      expect(bucketOf('pick', u)).toBe(b);
    }
  });

  it('spreads uids evenly: every decile holds 10% ± 2% of 10,000 uids', () => {
    const deciles = new Array(10).fill(0);
    for (const u of uids) deciles[Math.floor(bucketOf('pick', u) / 10)]++;
    for (const d of deciles) expect(Math.abs(d / uids.length - 0.1)).toBeLessThan(0.02);
  });

  it('spreads uids of the real kind evenly too (random 128-bit hex and base64url ids)', async () => {
    const { randomBytes } = await import('node:crypto');
    for (const enc of ['hex', 'base64url'] as const) {
      const ids = Array.from({ length: 10_000 }, () => randomBytes(16).toString(enc));
      const under10 = ids.filter((u) => bucketOf('pick', u) < 10).length / ids.length;
      const under50 = ids.filter((u) => bucketOf('pick', u) < 50).length / ids.length;
      expect(Math.abs(under10 - 0.1), enc).toBeLessThan(0.02);
      expect(Math.abs(under50 - 0.5), enc).toBeLessThan(0.03);
    }
  });

  it('assigns users independently per CGI (one user is not the canary of every CGI)', () => {
    const both = uids.filter((u) => bucketOf('pick', u) < 50 && bucketOf('other', u) < 50).length / uids.length;
    expect(both).toBeGreaterThan(0.2);
    expect(both).toBeLessThan(0.3);
  });
});

describe('Slot.route', () => {
  it('sends exactly the users with bucket < percent to the canary; raising the percent only adds users', () => {
    const { slot } = slotWith(10);
    const at10 = new Set(uids.filter((u) => slot.route(u) === slot.canary));
    for (const u of uids) expect(at10.has(u)).toBe(bucketOf('pick', u) < 10);
    slot.setCanaryPercent(30);
    const at30 = new Set(uids.filter((u) => slot.route(u) === slot.canary));
    for (const u of at10) expect(at30.has(u)).toBe(true);
    expect(at30.size / uids.length).toBeGreaterThan(0.27);
    expect(at30.size / uids.length).toBeLessThan(0.33);
  });

  it('requests without a uid get stable, even at 100%', () => {
    const { slot } = slotWith(100);
    expect(slot.route(undefined)).toBe(slot.stable);
    expect(slot.route(uids[0])).toBe(slot.canary);
  });

  it('0% and no canary both mean stable for everybody', () => {
    const { slot } = slotWith(0);
    expect(uids.every((u) => slot.route(u) === slot.stable)).toBe(true);
    slot.setCanaryPercent(100);
    slot.canary = undefined;
    expect(uids.every((u) => slot.route(u) === slot.stable)).toBe(true);
  });
});

describe('automatic canary rollback (defaults)', () => {
  it('a canary failing every request is at 0% within its first 50 requests, with an alert and an error log', () => {
    const { slot, alerts, logged } = slotWith(50);
    let n = 0;
    while (slot.canaryPercent > 0 && n < 50) {
      slot.finished(slot.canary!, 500, 'INTERNAL', 1);
      slot.finished(slot.stable!, 200, 'OK', 1);
      n++;
    }
    expect(slot.canaryPercent).toBe(0);
    expect(n).toBeLessThanOrEqual(50);
    expect(alerts.map((a) => a.name)).toContain('canary_rolled_back');
    expect(alerts[0]!.fields).toMatchObject({ cgi: 'pick', version: 'canary0000' });
    expect(logged.some((m) => /canary rolled back/.test(m))).toBe(true);
  });

  it('a canary as healthy as stable, or a little worse within the margin, is kept', () => {
    const { slot, alerts } = slotWith(50);
    for (let i = 0; i < 1000; i++) {
      slot.finished(slot.canary!, i % 10 === 0 ? 500 : 200, i % 10 === 0 ? 'INTERNAL' : 'OK', 1);
      slot.finished(slot.stable!, i % 20 === 0 ? 500 : 200, i % 20 === 0 ? 'INTERNAL' : 'OK', 1);
    }
    expect(slot.canaryPercent).toBe(50);
    expect(alerts).toEqual([]);
  });

  it('4xx answers (the client’s fault) never roll a canary back', () => {
    const { slot } = slotWith(50);
    for (let i = 0; i < 200; i++) slot.finished(slot.canary!, 400, 'INVALID_INPUT', 1);
    expect(slot.canaryPercent).toBe(50);
  });

  it('a canary failing every request is rolled back however many requests stable has already failed, once the gap is past the margin', () => {
    const { slot } = slotWith(50);
    for (let i = 0; i < 100; i++) slot.finished(slot.stable!, i < 10 ? 500 : 200, i < 10 ? 'INTERNAL' : 'OK', 1);
    for (let i = 0; i < 50 && slot.canaryPercent > 0; i++) slot.finished(slot.canary!, 500, 'INTERNAL', 1);
    expect(slot.canaryPercent).toBe(0);
  });
});
