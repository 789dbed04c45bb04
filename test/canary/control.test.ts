/**
 * Canary control at run time, over a real host with real users: the percent
 * through the admin API and the CLI moves everybody, rollback sends everybody
 * to stable, promote makes the canary the stable file; a canary file added or
 * removed while serving takes effect.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketOf } from '../../src/host/canary.js';
import { cgiPath, probe, SETTLE_MS, untilServes, versionCgi } from '../reload/support.js';
import { untilAll } from './support.js';
import {
  adminCgi,
  copyProjectCgis,
  newUsers,
  runCli,
  type RunningHost,
  startHost,
  tempDir,
  type User,
  waitFor,
  writeCgis,
  writeFile,
} from '../helpers/index.js';

describe('canary control at run time', () => {
  let host: RunningHost;
  let users: User[];

  const admin = async (name: string, action: string, body: unknown = {}) => {
    const r = await fetch(`${host.url}/_host/api/cgis/${name}/${action}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: r.status, body: await r.json() };
  };
  const cli = (...args: string[]) => runCli([...args, '--url', host.url]);
  const allGet = (name: string, v: string) => untilAll(host, name, users, (p) => p.status === 200 && p.v === v, SETTLE_MS);

  beforeAll(async () => {
    const cgisDir = tempDir('cgihost-canary-ctl-');
    copyProjectCgis(cgisDir, 'account', '_shared');
    writeCgis(cgisDir, {
      'exp/pick.ts': versionCgi({ v: 'stable', auth: 'user' }),
      'exp/pick.canary.ts': versionCgi({ v: 'canary', auth: 'user' }),
      'exp/late.ts': versionCgi({ v: 'stable', auth: 'user' }),
      'exp/plain.ts': versionCgi({ v: 'plain', auth: 'user' }),
    });
    host = await startHost({ cgisDir, config: { canary: { pick: { percent: 10 }, late: { percent: 50 } } } });
    users = await newUsers(host, 20);
  }, 120_000);
  afterAll(async () => {
    await host?.stop();
  });

  it('admin API: percent 100 moves everybody to the canary, 0 moves everybody back', async () => {
    let r = await admin('pick', 'canary', { percent: 100 });
    expect(r.status).toBe(200);
    expect(r.body.canaryPercent).toBe(100);
    await allGet('pick', 'canary');
    r = await admin('pick', 'canary', { percent: 0 });
    expect(r.status).toBe(200);
    await allGet('pick', 'stable');
    expect((await adminCgi(host, 'pick')).canaryPercent).toBe(0);
  });

  it('admin API: an invalid percent is a 400, an unknown CGI a 404, a CGI without canary a 503; nothing changes', async () => {
    await admin('pick', 'canary', { percent: 10 });
    for (const bad of [{ percent: 101 }, { percent: -1 }, { percent: '50' }, {}]) {
      const r = await admin('pick', 'canary', bad);
      expect(r.status, JSON.stringify(bad)).toBe(400);
      expect(r.body.error.code).toBe('INVALID_INPUT');
    }
    expect((await admin('nosuch', 'canary', { percent: 10 })).status).toBe(404);
    const none = await admin('plain', 'canary', { percent: 10 });
    expect(none.status).toBe(503);
    expect((await adminCgi(host, 'pick')).canaryPercent).toBe(10);
    expect((await adminCgi(host, 'plain')).canaryPercent).toBe(0);
  });

  it('CLI: `cgihost canary pick 100 --url` moves everybody; `cgihost rollback` sends everybody to stable (0%)', async () => {
    let r = await cli('canary', 'pick', '100');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    await allGet('pick', 'canary');
    expect((await adminCgi(host, 'pick')).canaryPercent).toBe(100);

    r = await cli('rollback', 'pick');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    await allGet('pick', 'stable');
    expect((await adminCgi(host, 'pick')).canaryPercent).toBe(0);
    // The canary stays loaded: rollback is a percent, not a deletion.
    expect((await adminCgi(host, 'pick')).canaryVersion).toMatch(/^[0-9a-f]{6,}$/);
  });

  it('CLI: a bad percent, an unknown CGI or an unreachable host exit non-zero', async () => {
    expect((await cli('canary', 'pick', '250')).code).not.toBe(0);
    expect((await cli('canary', 'nosuch', '10')).code).not.toBe(0);
    expect((await cli('canary', 'pick')).code).not.toBe(0);
    expect((await runCli(['rollback', 'pick', '--url', 'http://127.0.0.1:9'])).code).not.toBe(0);
  });

  it('admin rollback → 0%: every user on stable', async () => {
    await admin('pick', 'canary', { percent: 100 });
    await allGet('pick', 'canary');
    const r = await admin('pick', 'rollback');
    expect(r.status).toBe(200);
    expect(r.body.canaryPercent).toBe(0);
    await allGet('pick', 'stable');
  });

  it('a canary file added at run time serves its share at the configured percent; deleting it sends everybody to stable', async () => {
    await allGet('late', 'stable');
    writeFile(cgiPath(host, 'exp/late.canary.ts'), versionCgi({ v: 'canary', auth: 'user' }));
    await untilAll(
      host,
      'late',
      users,
      (p, u) => p.status === 200 && p.v === (bucketOf('late', u.uid) < 50 ? 'canary' : 'stable'),
      SETTLE_MS,
    );
    rmSync(cgiPath(host, 'exp/late.canary.ts'));
    await allGet('late', 'stable');
    expect((await adminCgi(host, 'late')).canaryVersion).toBeNull();
  });

  it('a canary without a stable file beside it is refused', async () => {
    writeFile(cgiPath(host, 'exp/orphan.canary.ts'), versionCgi({ v: 'canary', auth: 'user' }));
    await waitFor(async () => {
      const r = await host.get('/_host/api/cgis');
      return r.body.refused.some((x: { file: string }) => /orphan\.canary\.ts$/.test(x.file));
    }, SETTLE_MS);
    expect((await probe(host, 'orphan', users[0]!.token)).code).toBe('NO_SUCH_CGI');
  });

  it('a canary saved before its stable file loads once the stable file appears', async () => {
    writeFile(cgiPath(host, 'exp/first.canary.ts'), versionCgi({ v: 'canary', auth: 'user' }));
    await waitFor(
      async () => (await host.get('/_host/api/cgis')).body.refused.some((x: { file: string }) => /first\.canary\.ts$/.test(x.file)),
      SETTLE_MS,
    );
    writeFile(cgiPath(host, 'exp/first.ts'), versionCgi({ v: 'stable', auth: 'user' }));
    await allGet('first', 'stable');
    // The canary loads right after its stable version does.
    await waitFor(async () => (await adminCgi(host, 'first'))?.canaryVersion, SETTLE_MS);
    await admin('first', 'canary', { percent: 100 }).then((r) => expect(r.status, JSON.stringify(r.body)).toBe(200));
    await allGet('first', 'canary');
  });

  it('a stable file deleted and restored brings its canary (still on disk) back', async () => {
    writeFile(cgiPath(host, 'exp/again.ts'), versionCgi({ v: 'stable', auth: 'user' }));
    await allGet('again', 'stable');
    writeFile(cgiPath(host, 'exp/again.canary.ts'), versionCgi({ v: 'canary', auth: 'user' }));
    await waitFor(async () => (await adminCgi(host, 'again'))?.canaryVersion, SETTLE_MS);
    await admin('again', 'canary', { percent: 100 });
    await allGet('again', 'canary');
    rmSync(cgiPath(host, 'exp/again.ts'));
    await waitFor(async () => (await probe(host, 'again', users[0]!.token)).code === 'NO_SUCH_CGI', SETTLE_MS);
    writeFile(cgiPath(host, 'exp/again.ts'), versionCgi({ v: 'stable', auth: 'user' }));
    await allGet('again', 'stable');
    await waitFor(async () => (await adminCgi(host, 'again'))?.canaryVersion, SETTLE_MS).catch(() => {
      throw new Error('again.canary.ts is beside again.ts but no canary is loaded');
    });
  });

  it('promote (CLI): the stable file gets the canary content, the canary file is gone, everybody gets the new code', async () => {
    const stableFile = cgiPath(host, 'exp/pick.ts');
    const canaryFile = cgiPath(host, 'exp/pick.canary.ts');
    const canarySource = readFileSync(canaryFile, 'utf8');
    await admin('pick', 'canary', { percent: 50 });
    const oldStable = (await adminCgi(host, 'pick')).version;

    const r = await cli('promote', 'pick');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(readFileSync(stableFile, 'utf8')).toBe(canarySource);
    expect(existsSync(canaryFile)).toBe(false);
    await allGet('pick', 'canary');
    const s = await adminCgi(host, 'pick');
    expect(s.canaryVersion).toBeNull();
    expect(s.canaryPercent).toBe(0);
    expect(s.version).not.toBe(oldStable);
    expect(s.lastError).toBeNull();
    // The promoted version stays after the watcher has seen both file events: a file written after them in the
    // same folder serves, so theirs have been applied (the watcher delivers events in order).
    writeFile(cgiPath(host, 'exp/after_promote.ts'), versionCgi({ v: 'witness' }));
    await untilServes(host, 'after_promote', 'witness', SETTLE_MS);
    await allGet('pick', 'canary');
    // Requests without a uid get the promoted code too: it is the stable version now.
    const anon = await probe(host, 'pick');
    expect(anon.status).toBe(401);
    expect(anon.version).toBe(s.version);
  });

  it('promote with no canary loaded is refused and changes nothing', async () => {
    const before = readFileSync(cgiPath(host, 'exp/plain.ts'), 'utf8');
    const r = await admin('plain', 'promote');
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(readFileSync(cgiPath(host, 'exp/plain.ts'), 'utf8')).toBe(before);
    expect((await cli('promote', 'plain')).code).not.toBe(0);
  });
});
