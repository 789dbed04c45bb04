/** host.config.json: one zod schema with every default; errors name the bad key's path. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import { CgiError } from '../../src/errors.js';
import { tempDir } from '../helpers/index.js';

function errorOf(raw: unknown): string {
  try {
    parseConfig(raw, 'test.json');
  } catch (e) {
    expect(e).toBeInstanceOf(CgiError);
    expect((e as CgiError).code).toBe('CONFIG_INVALID');
    return (e as Error).message;
  }
  throw new Error('the config was accepted');
}

describe('parseConfig', () => {
  it('takes store.engine "sqlite" (the default) or "postgres" with a postgres:// URL', () => {
    expect(parseConfig({}, 'test').store.engine).toBe('sqlite');
    expect(parseConfig({ store: { engine: 'sqlite' } }, 'test').store.engine).toBe('sqlite');
    expect(parseConfig({ store: { engine: 'postgres', url: 'postgres://u@localhost/db' } }, 'test').store).toMatchObject({
      engine: 'postgres',
      url: 'postgres://u@localhost/db',
    });
    expect(errorOf({ store: { engine: 'mysql' } })).toMatch(/store\.engine/);
    expect(errorOf({ store: { url: 'mysql://x' } })).toMatch(/store\.url is a postgres:\/\/ URL/);
  });

  it('loadConfig: the postgres engine needs a URL (store.url or CGIHOST_DATABASE_URL); mediaDir defaults to <dataDir>/media', () => {
    const dir = tempDir('cgihost-config-pg-');
    const file = join(dir, 'host.config.json');
    writeFileSync(file, JSON.stringify({ store: { engine: 'postgres' }, dataDir: 'd' }));
    const saved = process.env.CGIHOST_DATABASE_URL;
    delete process.env.CGIHOST_DATABASE_URL;
    try {
      expect(() => loadConfig(file)).toThrow(/"store\.url": the postgres engine needs store\.url or CGIHOST_DATABASE_URL/);
      process.env.CGIHOST_DATABASE_URL = 'postgres://u@db.example/cgihost';
      const c = loadConfig(file);
      expect(c.store.url).toBe('postgres://u@db.example/cgihost');
      expect(c.mediaDir).toBe(join(dir, 'd', 'media'));
      writeFileSync(file, JSON.stringify({ mediaDir: '../shared-media' }));
      expect(loadConfig(file).mediaDir).toBe(join(dir, '..', 'shared-media'));
    } finally {
      if (saved === undefined) delete process.env.CGIHOST_DATABASE_URL;
      else process.env.CGIHOST_DATABASE_URL = saved;
    }
  });

  it('fills every default from {}', () => {
    const c = parseConfig({}, 'test');
    expect(c).toMatchObject({
      port: 8080,
      host: '127.0.0.1',
      dataDir: './data',
      cgisDir: './cgis',
      watch: true,
      limits: { jsonBodyBytes: 64 * 1024 },
      cgiDefaults: { workers: 1, timeoutMs: 10_000 },
      // SPEC §5: "default: 5 times in 10 s".
      faults: { crashLimit: 5, crashWindowMs: 10_000 },
      cgis: {},
      canary: {},
      // SPEC §6: anyone may write to anyone (not blocking them); recall within 2 minutes.
      messaging: { contactsOnly: false, recallWindowMs: 120_000 },
    });
    expect(c.adminToken).toBeUndefined();
  });

  it('keeps what it is given and defaults the rest of the same section', () => {
    const c = parseConfig({ port: 9000, faults: { crashLimit: 3 }, cgis: { heap: { maxHeapMb: 32 } } }, 'test');
    expect(c.port).toBe(9000);
    expect(c.faults.crashLimit).toBe(3);
    expect(c.faults.crashWindowMs).toBe(10_000);
    expect(c.cgis.heap).toEqual({ maxHeapMb: 32 });
  });

  it.each([
    [{ port: 'x' }, '"port"'],
    [{ port: 70_000 }, '"port"'],
    [{ prot: 1 }, '"prot"'],
    [{ limits: { jsonBodyByte: 1 } }, '"limits.jsonBodyByte"'],
    [{ faults: { crashLimit: 0 } }, '"faults.crashLimit"'],
    [{ cgis: { heap: { maxHeapMb: 'big' } } }, '"cgis.heap.maxHeapMb"'],
    [{ cgis: { heap: { heapMb: 32 } } }, '"cgis.heap.heapMb"'],
    [{ canary: { echo: { percent: 101 } } }, '"canary.echo.percent"'],
    [{ log: { level: 'loud' } }, '"log.level"'],
    [{ adminToken: 'short' }, '"adminToken"'],
    [{ messaging: { contactsOnly: 'yes' } }, '"messaging.contactsOnly"'],
    [{ messaging: { recallWindowMs: -1 } }, '"messaging.recallWindowMs"'],
    [{ messaging: { recallWindow: 1 } }, '"messaging.recallWindow"'],
  ])('refuses %j naming %s', (raw, key) => {
    const msg = errorOf(raw);
    expect(msg).toContain(key);
    expect(msg).toContain('test.json');
  });

  it('refuses a config that is not an object', () => {
    expect(errorOf([1])).toMatch(/\(root\)/);
    expect(errorOf(null)).toMatch(/\(root\)/);
  });
});

describe('loadConfig', () => {
  const savedToken = process.env.CGIHOST_ADMIN_TOKEN;
  afterEach(() => {
    if (savedToken === undefined) delete process.env.CGIHOST_ADMIN_TOKEN;
    else process.env.CGIHOST_ADMIN_TOKEN = savedToken;
  });

  function configFile(content: unknown): string {
    const dir = tempDir('cgihost-cfg-');
    mkdirSync(join(dir, 'sub'));
    const file = join(dir, 'sub', 'host.config.json');
    writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
    return file;
  }

  it('resolves relative paths against the file, and flags win over the file', () => {
    const file = configFile({ port: 1234, host: '0.0.0.0', cgisDir: './c', dataDir: '../d' });
    const c = loadConfig(file);
    expect(c.port).toBe(1234);
    expect(c.cgisDir).toBe(join(file, '..', 'c'));
    expect(c.dataDir).toBe(join(file, '..', '..', 'd'));
    expect(c.configFile).toBe(file);
    const o = loadConfig(file, { port: 0, host: '127.0.0.1', cgisDir: '/x/cgis', dataDir: '/x/data' });
    expect(o).toMatchObject({ port: 0, host: '127.0.0.1', cgisDir: '/x/cgis', dataDir: '/x/data' });
  });

  it('CGIHOST_ADMIN_TOKEN wins over adminToken', () => {
    const file = configFile({ adminToken: 'from-the-file-123' });
    delete process.env.CGIHOST_ADMIN_TOKEN;
    expect(loadConfig(file).adminToken).toBe('from-the-file-123');
    process.env.CGIHOST_ADMIN_TOKEN = 'from-the-env-4567';
    expect(loadConfig(file).adminToken).toBe('from-the-env-4567');
  });

  it('refuses a missing file and a file that is not JSON, with CONFIG_INVALID', () => {
    expect(() => loadConfig('/nonexistent/host.config.json')).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    expect(() => loadConfig(configFile('{"port": 1,'))).toThrow(/not valid JSON/);
    expect(() => loadConfig(configFile({ prot: 1 }))).toThrow(/"prot"/);
  });
});
