/**
 * Accounts over the real host (SPEC §4 Accounts): register, login, logout,
 * authentication of every other CGI, and what the database file keeps.
 * Login rate limiting has its own file: its per-address limit would lock out
 * every other login from 127.0.0.1 on a shared host.
 */
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectError,
  login,
  newUser,
  PASSWORD,
  PROJECT_CGIS,
  register,
  type RunningHost,
  startHost,
  uniqueName,
  waitFor,
} from '../helpers/index.js';

let h: RunningHost;
beforeAll(async () => {
  h = await startHost({ cgisDir: PROJECT_CGIS });
});
afterAll(async () => {
  await h?.stop();
});

describe('register', () => {
  it('answers {uid} with an opaque string id', async () => {
    const r = await register(h, uniqueName('reg'));
    expect(r.status, r.text).toBe(200);
    expect(Object.keys(r.body)).toEqual(['uid']);
    expect(typeof r.body.uid).toBe('string');
    expect(r.body.uid.length).toBeGreaterThan(0);
    expect(r.headers.get('x-cgi-version')).toMatch(/\S/);
  });

  it('gives every user a different uid', async () => {
    const rs = await Promise.all([1, 2, 3, 4].map(() => register(h, uniqueName('reg'))));
    expect(rs.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(new Set(rs.map((r) => r.body.uid)).size).toBe(4);
  });

  it.each([
    ['too short', 'ab'],
    ['uppercase', 'Alice_1'],
    ['33 characters', 'a'.repeat(33)],
    ['a dash', 'al-ice'],
    ['a space', 'al ice'],
    ['a dot', 'al.ice'],
    ['non-ASCII letters', 'élodie'],
    ['empty', ''],
  ])('refuses a username that is %s with 400 INVALID_INPUT', async (_what, username) => {
    expectError(await register(h, username), 400, 'INVALID_INPUT');
  });

  it('accepts usernames of exactly 3 and 32 characters of [a-z0-9_]', async () => {
    const base = uniqueName('x').replace(/^x_/, '');
    const long = (`z_${base}` + '0'.repeat(32)).slice(0, 32);
    expect((await register(h, long)).status).toBe(200);
    // The host's data dir is fresh, so this short name is free.
    expect((await register(h, 'a9_')).status).toBe(200);
  });

  it('refuses a missing username or password, and a non-string one', async () => {
    expectError(await h.post('register', { password: PASSWORD }), 400, 'INVALID_INPUT');
    expectError(await h.post('register', { username: uniqueName() }), 400, 'INVALID_INPUT');
    expectError(await h.post('register', { username: uniqueName(), password: 12345678 }), 400, 'INVALID_INPUT');
  });

  it('counts password length in code points: 8 to 128', async () => {
    expectError(await register(h, uniqueName(), 'a'.repeat(7)), 400, 'INVALID_INPUT');
    expectError(await register(h, uniqueName(), 'a'.repeat(129)), 400, 'INVALID_INPUT');
    expect((await register(h, uniqueName(), 'a'.repeat(8))).status).toBe(200);
    expect((await register(h, uniqueName(), 'a'.repeat(128))).status).toBe(200);
    // 8 emoji are 16 UTF-16 units but 8 characters: accepted; 4 emoji (8 units) are 4 characters: refused.
    const emoji8 = '😀'.repeat(8);
    const name = uniqueName();
    expect((await register(h, name, emoji8)).status).toBe(200);
    expect((await login(h, name, emoji8)).status).toBe(200);
    expectError(await register(h, uniqueName(), '😀'.repeat(4)), 400, 'INVALID_INPUT');
    // 128 emoji are 256 units: still 128 characters.
    expect((await register(h, uniqueName(), '😀'.repeat(128))).status).toBe(200);
    expectError(await register(h, uniqueName(), '😀'.repeat(129)), 400, 'INVALID_INPUT');
  });

  it('refuses a taken username with 409 USERNAME_TAKEN, also when two race for it', async () => {
    const name = uniqueName();
    expect((await register(h, name)).status).toBe(200);
    expectError(await register(h, name, 'another password'), 409, 'USERNAME_TAKEN');
    const raced = uniqueName();
    const rs = await Promise.all([1, 2, 3].map(() => register(h, raced)));
    expect(rs.map((r) => r.status).sort()).toEqual([200, 409, 409]);
    for (const r of rs.filter((x) => x.status === 409)) expectError(r, 409, 'USERNAME_TAKEN');
  });
});

describe('login', () => {
  it('answers {uid, token} with a token of at least 128 random bits', async () => {
    const name = uniqueName();
    const { uid } = (await register(h, name)).body;
    const r = await login(h, name);
    expect(r.status, r.text).toBe(200);
    expect(Object.keys(r.body).sort()).toEqual(['token', 'uid']);
    expect(r.body.uid).toBe(uid);
    // base64url, 22 characters = 132 bits at least.
    expect(r.body.token).toMatch(/^[A-Za-z0-9_-]{22,}$/);
    const again = await login(h, name, PASSWORD, 'phone');
    expect(again.status).toBe(200);
    expect(again.body.token).not.toBe(r.body.token);
  });

  it('refuses a wrong password and an unknown user alike: 401 BAD_CREDENTIALS, same message', async () => {
    const name = uniqueName();
    expect((await register(h, name)).status).toBe(200);
    const wrong = await login(h, name, 'not the password');
    const unknown = await login(h, uniqueName('nobody'), PASSWORD);
    expectError(wrong, 401, 'BAD_CREDENTIALS');
    expectError(unknown, 401, 'BAD_CREDENTIALS');
    expect(wrong.body.error.message).toBe(unknown.body.error.message);
    expect(wrong.body.error.details).toEqual(unknown.body.error.details);
    // A success clears this username's failures; the account still works.
    expect((await login(h, name)).status).toBe(200);
  });
});

describe('tokens', () => {
  it('every CGI but register and login needs a token: 401 UNAUTHENTICATED', async () => {
    const u = await newUser(h);
    const calls: Array<[string, unknown]> = [
      ['logout', {}],
      ['sendmsg', { to: u.uid, type: 'text', content: 'x', clientMsgId: 'a' }],
      ['sync', { syncKey: 0 }],
      ['creategroup', { name: 'g', members: [] }],
      ['addgroupmember', { groupId: 'g', members: [u.uid] }],
      ['delgroupmember', { groupId: 'g', members: [u.uid] }],
      ['getgroup', { groupId: 'g' }],
      ['sendmediamsg', { to: u.uid, type: 'image', mediaId: '0'.repeat(64), clientMsgId: 'a' }],
    ];
    for (const [cgi, body] of calls) {
      expectError(await h.post(cgi, body), 401, 'UNAUTHENTICATED');
      expectError(await h.post(cgi, body, { token: 'not-a-token-at-all-0000000000' }), 401, 'UNAUTHENTICATED');
      expectError(await h.post(cgi, body, { headers: { authorization: `Basic ${u.token}` } }), 401, 'UNAUTHENTICATED');
    }
    expectError(await h.get('/cgi-bin/getmedia?mediaId=' + '0'.repeat(64)), 401, 'UNAUTHENTICATED');
    const upload = await fetch(`${h.url}/cgi-bin/uploadmedia`, {
      method: 'POST',
      headers: { 'content-type': 'audio/ogg' },
      body: 'OggS....',
    });
    const text = await upload.text();
    expect([upload.status, JSON.parse(text).error.code], text).toEqual([401, 'UNAUTHENTICATED']);
  });

  it('logout revokes only the calling token; the other device stays signed in', async () => {
    const u = await newUser(h);
    const phone = await login(h, u.username, PASSWORD, 'phone');
    expect(phone.status).toBe(200);
    // Used before: the host now holds this session in its token cache.
    expect((await h.post('sync', { syncKey: 0 }, { token: u.token })).status).toBe(200);
    const out = await h.post('logout', {}, { token: u.token });
    expect(out.status, out.text).toBe(200);
    expect(out.body).toEqual({});
    expectError(await h.post('sync', { syncKey: 0 }, { token: u.token }), 401, 'UNAUTHENTICATED');
    expectError(await h.post('logout', {}, { token: u.token }), 401, 'UNAUTHENTICATED');
    const still = await h.post('sync', { syncKey: 0 }, { token: phone.body.token });
    expect(still.status, still.text).toBe(200);
    // Logging in again gives a new, working token.
    const back = await login(h, u.username);
    expect((await h.post('sync', { syncKey: 0 }, { token: back.body.token })).status).toBe(200);
  });

  it('keeps no password in clear and no raw token in the database file', async () => {
    const username = uniqueName('secret');
    const password = `Pw-${uniqueName('p')}-clear`;
    expect((await register(h, username, password)).status).toBe(200);
    const l = await login(h, username, password);
    expect(l.status).toBe(200);
    const token: string = l.body.token;
    // Committed data may still be in the WAL: read every file of the database.
    const base = join(h.dataDir, 'cgihost.db');
    const files = [base, `${base}-wal`, `${base}-shm`, `${base}-journal`].filter((f) => existsSync(f));
    const bytes = Buffer.concat(files.map((f) => readFileSync(f)));
    // The username is there (we read the right files)...
    expect(bytes.includes(Buffer.from(username))).toBe(true);
    // ...the password and the token are not, in UTF-8 or UTF-16.
    for (const secret of [password, token]) {
      expect(bytes.includes(Buffer.from(secret, 'utf8'))).toBe(false);
      expect(bytes.includes(Buffer.from(secret, 'utf16le'))).toBe(false);
    }
    // The token is not stored as its base64 decoding either.
    expect(bytes.includes(Buffer.from(token, 'base64url'))).toBe(false);
    // The password hash is scrypt's, salted: two users with one password get different hashes.
    expect(bytes.includes(Buffer.from('scrypt$'))).toBe(true);
  });
});

describe('password hashing cost (cgiGroups.account.env.SCRYPT_N)', () => {
  const hashesIn = (host: RunningHost) => {
    const base = join(host.dataDir, 'cgihost.db');
    const text = [base, `${base}-wal`]
      .filter((f) => existsSync(f))
      .map((f) => readFileSync(f).toString('latin1'))
      .join('');
    // A hash may sit in the database and in the WAL both: each cost once.
    return [...new Set([...text.matchAll(/scrypt\$(\d+)\$8\$1\$/g)].map((m) => Number(m[1])))];
  };

  it('hashes at 16384 by default and at SCRYPT_N when set; a hash keeps verifying after the cost changes', async () => {
    // The test helper lowers the cost for speed; a config naming the account group keeps what it says.
    const full = await startHost({ cgisDir: PROJECT_CGIS, config: { cgiGroups: { account: {} } } });
    const name = uniqueName('cost');
    try {
      expect((await register(full, name)).status).toBe(200);
      expect(hashesIn(full)).toEqual([16384]);
    } finally {
      await full.stop();
    }
    const cheap = await startHost({
      cgisDir: PROJECT_CGIS,
      dataDir: full.dataDir,
      config: { cgiGroups: { account: { env: { SCRYPT_N: '2048' } } } },
    });
    try {
      expect((await login(cheap, name)).status).toBe(200);
      expect((await register(cheap, uniqueName('cost'))).status).toBe(200);
      expect(hashesIn(cheap).sort((a, b) => a - b)).toEqual([2048, 16384]);
    } finally {
      await cheap.stop();
    }
  });

  it('refuses a SCRYPT_N that is not a power of two from 1024 to 1048576, saying so in the log, and stores nothing', async () => {
    const bad = await startHost({ cgisDir: PROJECT_CGIS, config: { cgiGroups: { account: { env: { SCRYPT_N: '1000' } } } } });
    try {
      const r = await register(bad, uniqueName('cost'));
      expect(r.status).toBe(500);
      expect(r.body.error.code).toBe('INTERNAL');
      await waitFor(() => bad.output().includes('SCRYPT_N must be a power of two from 1024 to 1048576, not \\"1000\\"'), 5_000).catch(
        (e) => {
          throw new Error(`${e}\n${bad.output()}`);
        },
      );
      expect(hashesIn(bad)).toEqual([]);
    } finally {
      await bad.stop();
    }
  });
});
