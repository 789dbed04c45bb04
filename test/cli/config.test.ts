/**
 * SPEC §5 CLI and Config, from the outside: an invalid host.config.json stops
 * the host with exit code 2 and names the bad key; flags win over the file.
 */
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { CHECK_TEST_MS, ROOT, runCli, type RunningHost, startHost, tempDir, writeCgis } from '../helpers/index.js';

/** Runs `cgihost start` with this config file text; it must fail before listening. */
async function startWithConfig(text: string, extra: string[] = []) {
  const dir = tempDir('cgihost-badcfg-');
  const file = join(dir, 'host.config.json');
  writeFileSync(file, text);
  const r = await runCli([
    'start',
    '--config',
    file,
    '--port',
    '0',
    '--data-dir',
    join(dir, 'data'),
    '--cgis-dir',
    join(dir, 'cgis'),
    ...extra,
  ]);
  expect(r.stdout).not.toContain('listening on');
  return r;
}

describe('an invalid host.config.json', () => {
  it('a value of the wrong type: exit 2, stderr names the key', async () => {
    const r = await startWithConfig('{"port": "x"}');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/"port"/);
  });

  it('an unknown key: exit 2, stderr names it', async () => {
    const r = await startWithConfig('{"prot": 1}');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/"prot"/);
  });

  it('names every bad key at once, nested ones by their whole path', async () => {
    const r = await startWithConfig(
      '{"port": -1, "prot": 1, "log": {"level": "loud"}, "faults": {"crashLimit": 0}, "limits": {"jsonBodyByte": 1}}',
    );
    expect(r.code).toBe(2);
    for (const key of ['"port"', '"prot"', '"log.level"', '"faults.crashLimit"', '"limits.jsonBodyByte"']) expect(r.stderr).toContain(key);
  });

  it('a trustProxy entry that is not an address or CIDR range, and a tls file that cannot be read: exit 2, named', async () => {
    const r = await startWithConfig('{"trustProxy": ["10.0.0.0/8", "proxy.local", "10.0.0.0/33"]}');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('"proxy.local" is not an IP address or CIDR range');
    expect(r.stderr).toContain('"10.0.0.0/33": the prefix length must be 0 to 32');
    const t = await startWithConfig('{"tls": {"cert": "/no/such/cert.pem", "key": "/no/such/key.pem"}}');
    expect(t.code).toBe(2);
    expect(t.stderr).toContain('tls.cert: cannot read /no/such/cert.pem');
  });

  it('not JSON at all: exit 2', async () => {
    const r = await startWithConfig('{"port": 80,');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/JSON/);
  });

  it('a --config file that does not exist: exit 2', async () => {
    const dir = tempDir('cgihost-nocfg-');
    const r = await runCli(['start', '--config', join(dir, 'missing.json'), '--port', '0', '--data-dir', dir, '--cgis-dir', dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('missing.json');
  });

  it('a bad flag: exit 2', async () => {
    const dir = tempDir('cgihost-badflag-');
    const port = await runCli(['start', '--port', 'abc', '--data-dir', dir, '--cgis-dir', dir]);
    expect(port.code).toBe(2);
    expect(port.stderr).toMatch(/--port/);
    const unknown = await runCli(['start', '--prot', '1', '--data-dir', dir, '--cgis-dir', dir]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/prot/);
  });

  it('an unknown command: exit 2 with the usage', async () => {
    const r = await runCli(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/usage: cgihost/);
  });
});

describe('flags and the config file', () => {
  let blocker: Server | undefined;
  let host: RunningHost | undefined;

  afterAll(async () => {
    await host?.kill();
    await new Promise((r) => (blocker ? blocker.close(r) : r(undefined)));
  });

  it('--port wins over the file, and the rest of the file applies', async () => {
    // The file's port is taken: had the file won, the host could not listen.
    blocker = createServer();
    const taken = await new Promise<number>((r) => blocker!.listen(0, '127.0.0.1', () => r((blocker!.address() as { port: number }).port)));
    host = await startHost({
      files: { 'basic/echo.ts': '@basic/echo.ts' },
      config: { port: taken, watch: false, limits: { jsonBodyBytes: 128 } },
    });
    expect(host.port).not.toBe(taken);
    expect(host.output()).toMatch(new RegExp(`listening on http://127\\.0\\.0\\.1:${host.port}`));
    expect((await host.post('echo', { text: 'small' })).status).toBe(200);
    // limits.jsonBodyBytes from the file: 128 bytes.
    const big = await host.post('echo', { text: 'x'.repeat(200) });
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it(
    'relative paths in the file are relative to the file, not the cwd',
    async () => {
      const dir = tempDir('cgihost-relcfg-');
      writeCgis(join(dir, 'my-cgis'), { 'demo/echo.ts': '@basic/echo.ts' });
      writeFileSync(join(dir, 'host.config.json'), JSON.stringify({ cgisDir: './my-cgis' }));
      const r = await runCli(['check', '--config', join(dir, 'host.config.json')], { cwd: tempDir('cgihost-elsewhere-') });
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/all 1 CGIs ok/);
    },
    CHECK_TEST_MS,
  );
});

describe('--version', () => {
  it('prints the package version and exits 0', async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    const r = await runCli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(`cgihost ${version}`);
  });
});
