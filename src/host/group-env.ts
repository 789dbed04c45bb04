/**
 * ctx.env of a CGI group (SPEC §8): `cgiGroups.<group>.env` from the config,
 * each key overridden by the environment variable `CGIHOST_ENV_<GROUP>_<KEY>`
 * when it is set (upper case; characters other than letters and digits
 * become `_`). Only keys the config names are looked up: a secret is
 * declared there (with an empty or placeholder value) and given by the
 * environment, and no variable meant for group `a_b` can reach group `a`.
 */
import type { Config } from '../config/schema.js';

export function envVarName(group: string, key: string): string {
  return `CGIHOST_ENV_${group}_${key}`.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
}

export function groupEnv(config: Config, group: string, processEnv: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(config.cgiGroups[group]?.env ?? {})) {
    out[key] = processEnv[envVarName(group, key)] ?? value;
  }
  return out;
}
