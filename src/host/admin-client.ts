/**
 * How the CLI talks to a running host's admin API (`cgihost users`,
 * `cgihost backup --url`, canary): the URL from --url or the config (https
 * when the config has tls), the admin token from the config. With tls, the
 * configured certificate is trusted beside the system's roots and the name is
 * not checked: the CLI is talking to its own host, usually over loopback, and
 * a self-signed certificate must work there too.
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { rootCertificates } from 'node:tls';
import type { Config } from '../config/schema.js';

export function hostUrl(config: Config, url?: string): string {
  if (url) return url.replace(/\/+$/, '');
  const host = config.host === '0.0.0.0' ? '127.0.0.1' : config.host === '::' ? '[::1]' : config.host;
  return `${config.tls ? 'https' : 'http'}://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${config.port}`;
}

/** Sends one admin request; resolves with the response (its body unread) or rejects when the host cannot be reached. */
export function adminRequest(config: Config, base: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<IncomingMessage> {
  const u = new URL(path, `${base}/`);
  const headers: Record<string, string> = {};
  if (config.adminToken) headers.authorization = `Bearer ${config.adminToken}`;
  const payload = body === undefined ? undefined : JSON.stringify(body);
  if (payload !== undefined) headers['content-type'] = 'application/json';
  return new Promise((resolve, reject) => {
    const tlsOptions =
      u.protocol === 'https:' && config.tls
        ? { ca: [...rootCertificates, readFileSync(config.tls.cert, 'utf8')], checkServerIdentity: () => undefined }
        : {};
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(u, { method, headers, ...tlsOptions }, resolve);
    req.on('error', reject);
    req.end(payload);
  });
}

/** The whole body of an admin answer, as text. */
export async function readAll(res: IncomingMessage): Promise<string> {
  let text = '';
  res.setEncoding('utf8');
  for await (const chunk of res) text += chunk;
  return text;
}

/** An admin call answered in one JSON body: prints the error and returns null when it is not a 2xx. */
export async function adminJson(config: Config, base: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
  let res: IncomingMessage;
  try {
    res = await adminRequest(config, base, method, path, body);
  } catch (e) {
    console.error(`cgihost: cannot reach the host at ${base}: ${(e as Error).message}`);
    return null;
  }
  const text = await readAll(res);
  if ((res.statusCode ?? 0) >= 300) {
    let shown = text;
    try {
      const err = JSON.parse(text).error;
      shown = `${err.code}: ${err.message}`;
    } catch {
      // not the error envelope: shown as it came
    }
    console.error(`cgihost: ${res.statusCode} ${shown}`);
    return null;
  }
  return JSON.parse(text);
}
