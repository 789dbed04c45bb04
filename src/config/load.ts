import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { CgiError } from '../errors.js';
import { ConfigSchema, type Config } from './schema.js';

export interface ConfigOverrides {
  port?: number;
  host?: string;
  dataDir?: string;
  cgisDir?: string;
}

/**
 * Reads and validates the config. `file` given: it must exist. Not given:
 * ./host.config.json when present, else all defaults. Relative paths in the
 * file are relative to the file; those on the command line to the cwd.
 */
export function loadConfig(file: string | undefined, overrides: ConfigOverrides = {}): Config & { configFile?: string } {
  const path = file ? resolve(file) : existsSync('host.config.json') ? resolve('host.config.json') : undefined;
  let raw: unknown = {};
  if (path) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      throw new CgiError('CONFIG_INVALID', `cannot read config ${path}: ${(e as Error).message}`);
    }
    try {
      raw = JSON.parse(text);
    } catch (e) {
      throw new CgiError('CONFIG_INVALID', `config ${path} is not valid JSON: ${(e as Error).message}`);
    }
  }
  const config = parseConfig(raw, path ?? 'defaults');
  const base = path ? dirname(path) : process.cwd();
  config.dataDir = resolve(base, config.dataDir);
  config.cgisDir = resolve(base, config.cgisDir);
  if (config.tls) config.tls = { cert: resolve(base, config.tls.cert), key: resolve(base, config.tls.key) };
  if (overrides.port !== undefined) config.port = overrides.port;
  if (overrides.host !== undefined) config.host = overrides.host;
  if (overrides.dataDir !== undefined) config.dataDir = resolve(overrides.dataDir);
  if (overrides.cgisDir !== undefined) config.cgisDir = resolve(overrides.cgisDir);
  if (process.env.CGIHOST_ADMIN_TOKEN) config.adminToken = process.env.CGIHOST_ADMIN_TOKEN;
  // The media folder: relative to the file like dataDir; by default inside the data dir (after a --data-dir override).
  config.mediaDir = config.mediaDir === undefined ? resolve(config.dataDir, 'media') : resolve(base, config.mediaDir);
  if (config.store.engine === 'postgres') {
    const url = config.store.url ?? process.env.CGIHOST_DATABASE_URL;
    if (!url) {
      throw new CgiError(
        'CONFIG_INVALID',
        `invalid config ${path ?? 'defaults'}:\n  "store.url": the postgres engine needs store.url or CGIHOST_DATABASE_URL (postgres://user:password@host:5432/db)`,
      );
    }
    if (!/^postgres(ql)?:\/\//.test(url)) throw new CgiError('CONFIG_INVALID', 'CGIHOST_DATABASE_URL is not a postgres:// URL');
    config.store.url = url;
  }
  return { ...config, configFile: path };
}

export function parseConfig(raw: unknown, source: string): Config {
  const result = ConfigSchema.safeParse(raw);
  if (result.success) return result.data;
  throw new CgiError('CONFIG_INVALID', `invalid config ${source}:\n${formatIssues(result.error)}`);
}

function formatIssues(error: z.ZodError): string {
  return error.issues
    .map((i) => {
      const keys = i.code === 'unrecognized_keys' ? i.keys.map((k) => [...i.path, k].join('.')) : [i.path.join('.') || '(root)'];
      return keys.map((k) => `  "${k}": ${i.message}`).join('\n');
    })
    .join('\n');
}
