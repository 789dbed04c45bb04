/** `cgihost canary|promote|rollback`: talk to a running host's admin API. */
import type { Config } from '../config/schema.js';
import { hostUrl } from './admin-client.js';

export async function canaryCommand(
  config: Config,
  command: 'canary' | 'promote' | 'rollback',
  args: string[],
  url?: string,
): Promise<number> {
  const [name, pct] = args;
  if (!name || (command === 'canary' && pct === undefined)) {
    console.error(command === 'canary' ? 'usage: cgihost canary <name> <percent>' : `usage: cgihost ${command} <name>`);
    return 2;
  }
  const base = hostUrl(config, url);
  const body = command === 'canary' ? { percent: Number(pct) } : {};
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (config.adminToken) headers.authorization = `Bearer ${config.adminToken}`;
  let res: Response;
  try {
    res = await fetch(`${base}/_host/api/cgis/${encodeURIComponent(name)}/${command}`, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
    });
  } catch (e) {
    console.error(`cannot reach the host at ${base}: ${(e as Error).message}`);
    return 1;
  }
  const text = await res.text();
  console.log(text);
  return res.ok ? 0 : 1;
}
