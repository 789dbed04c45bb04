/**
 * One webhook delivery, whatever engine keeps the job: the endpoints by event,
 * the event body, and the POST itself (headers, HMAC signature, timeouts).
 * The SQLite dispatcher (webhooks.ts) and the PostgreSQL one
 * (pg/webhooks.ts) differ only in how they claim a job and write its outcome.
 */
import { createHmac } from 'node:crypto';
import type { Agent } from 'undici';
import type { ResolvedQueueOptions, WebhookConfig } from '../options.js';

export const WEBHOOK = 'webhook';

export function signBody(body: string, secret: string): string {
  return 'sha256=' + createHmac('sha256', secret).update(body).digest('hex');
}

/** The configured endpoints, each once, indexed by the events they listen to. */
export class WebhookEndpoints {
  readonly hooks: WebhookConfig[];
  private readonly byEvent = new Map<string, WebhookConfig[]>();

  constructor(hooks: readonly WebhookConfig[]) {
    // One endpoint listed twice would get every event twice.
    const seen = new Set<string>();
    this.hooks = hooks.filter((h) => !seen.has(h.url) && seen.add(h.url));
    for (const h of this.hooks) {
      for (const e of new Set(h.events)) {
        const list = this.byEvent.get(e) ?? [];
        list.push(h);
        this.byEvent.set(e, list);
      }
    }
  }

  wants(event: string): boolean {
    return this.byEvent.has(event) || this.byEvent.has('*');
  }

  /** The urls that get `event`, each once. */
  targets(event: string): string[] {
    const urls = [...(this.byEvent.get(event) ?? []), ...(this.byEvent.get('*') ?? [])].map((h) => h.url);
    return [...new Set(urls)];
  }
}

/** The body every endpoint of one event gets (and signs). */
export function webhookBody(event: string, createdAt: number, data: unknown): string {
  return JSON.stringify({ event, createdAt, data });
}

/** POSTs deliveries on one keep-alive agent (undici, loaded with the first delivery: it costs ~10 MB in this thread). */
export class WebhookClient {
  private client?: Promise<{ agent: Agent; request: typeof import('undici').request }>;

  constructor(private readonly opts: ResolvedQueueOptions) {}

  private http() {
    this.client ??= import('undici').then(({ Agent, request }) => ({
      agent: new Agent({ connect: { timeout: this.opts.webhookTimeoutMs }, keepAliveTimeout: 4_000 }),
      request,
    }));
    return this.client;
  }

  /** Delivers job `id`'s body to `hook`: null when it answered 2xx, else why not. */
  async post(hook: WebhookConfig, id: number, payload: string, ac: AbortController): Promise<string | null> {
    // Loaded before the delivery's clock starts: the first import takes a while.
    const { agent, request } = await this.http();
    const timeout = setTimeout(() => ac.abort(new Error(`timed out after ${this.opts.webhookTimeoutMs} ms`)), this.opts.webhookTimeoutMs);
    try {
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'user-agent': 'cgihost-webhook',
        'x-cgihost-event': eventOf(payload),
        'x-cgihost-delivery': String(id),
      };
      if (hook.secret) headers['x-cgihost-signature'] = signBody(payload, hook.secret);
      const res = await request(hook.url, {
        method: 'POST',
        headers,
        body: payload,
        signal: ac.signal,
        dispatcher: agent,
        headersTimeout: this.opts.webhookTimeoutMs,
        bodyTimeout: this.opts.webhookTimeoutMs,
      });
      await res.body.dump();
      return res.statusCode < 200 || res.statusCode >= 300 ? `HTTP ${res.statusCode}` : null;
    } catch (err) {
      return ac.signal.aborted && ac.signal.reason instanceof Error ? ac.signal.reason.message : errorText(err);
    } finally {
      clearTimeout(timeout);
    }
  }

  async close(): Promise<void> {
    if (this.client) await (await this.client).agent.close().catch(() => undefined);
  }
}

function eventOf(body: string): string {
  try {
    const e = (JSON.parse(body) as { event?: unknown }).event;
    return typeof e === 'string' ? e : '';
  } catch {
    return '';
  }
}

export function errorText(err: unknown): string {
  if (err instanceof Error)
    return (err as Error & { code?: string }).code ? `${(err as { code?: string }).code}: ${err.message}` : err.message;
  return String(err);
}
