/** host.config.json: one schema, with every default. Unknown keys are errors (a typo must not pass silently). */
import { z } from 'zod';
import { parseAllowRule } from './fetch-allow.js';
import { addressEntryError } from './addresses.js';

const CgiLimitsSchema = z.strictObject({
  /** Worker threads per CGI version. */
  workers: z.number().int().min(1).max(16).optional(),
  timeoutMs: z.number().int().min(1).max(600_000).optional(),
  /** JS heap bound per worker (resourceLimits). */
  maxHeapMb: z.number().int().min(16).max(16_384).optional(),
  /** Buffers and other memory outside the JS heap, per worker (watchdog). */
  maxExternalMb: z.number().int().min(16).max(65_536).optional(),
});

export const WebhookSchema = z.strictObject({
  url: z.url(),
  /** Event names to deliver ('message.sent', 'group.created', 'alert', ...); ['*'] for all. */
  events: z.array(z.string().min(1)).min(1),
  secret: z.string().min(1).optional(),
});

/** What a CGI group's units get beyond the defaults (SPEC §8 ctx.env, ctx.fetch). */
const CgiGroupSchema = z.strictObject({
  /** ctx.env; each key may be overridden by the environment variable CGIHOST_ENV_<GROUP>_<KEY> (upper case). */
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'env keys must be letters, digits and _'), z.string()).default({}),
  /** Loopback and private addresses ctx.fetch may reach: "host", "host:port" or a CIDR block. */
  fetchAllow: z
    .array(
      z.string().superRefine((v, ctx) => {
        try {
          parseAllowRule(v);
        } catch (e) {
          ctx.addIssue({ code: 'custom', message: (e as Error).message });
        }
      }),
    )
    .default([]),
});

export const AlertRuleSchema = z.strictObject({
  name: z.string().min(1),
  /**
   * What is measured: a CGI's 5xx rate (0..1), its p99 latency in ms, its quarantine, a queue's lag in
   * seconds, or a business metric (target "<group>.<name>": a counter's rate per second over the last
   * minute, a gauge's value).
   */
  metric: z.enum(['error_rate', 'p99_ms', 'quarantined', 'queue_lag_seconds', 'biz']),
  /** A CGI name, a queue topic, a "<group>.<metric>", or '*' for every one. */
  target: z.string().min(1).default('*'),
  threshold: z.number().default(0),
  /** How long the condition must hold before the alert fires. */
  forSeconds: z.number().min(0).default(0),
});

export const ConfigSchema = z.strictObject({
  port: z.number().int().min(0).max(65_535).default(8080),
  host: z.string().min(1).default('127.0.0.1'),
  dataDir: z.string().min(1).default('./data'),
  /** SPEC §9: where media files live (default <dataDir>/media); with several hosts, one folder they all mount. */
  mediaDir: z.string().min(1).optional(),
  cgisDir: z.string().min(1).default('./cgis'),
  /** Required as `Authorization: Bearer` on /metrics and /_host/ when set; else those are loopback-only. */
  adminToken: z.string().min(8).optional(),
  /** Proxies (addresses or CIDR ranges) whose X-Forwarded-For gives the client's address (SPEC §10). */
  trustProxy: z
    .array(
      z.string().superRefine((v, ctx) => {
        const err = addressEntryError(v);
        if (err) ctx.addIssue({ code: 'custom', message: err });
      }),
    )
    .default([]),
  /** HTTPS on the same port: PEM files (the certificate chain and its key), read again on SIGHUP. */
  tls: z.strictObject({ cert: z.string().min(1), key: z.string().min(1) }).optional(),
  /** Watch the cgis folder and swap changed CGIs live. */
  watch: z.boolean().default(true),
  /** Type-check each CGI hot reload swaps in (in a thread of its own) and report its type errors. */
  typeCheck: z.boolean().default(true),
  /** Coalesce editor save bursts: a file must be quiet this long before it is compiled. */
  watchDebounceMs: z.number().int().min(0).max(5_000).default(40),
  limits: z
    .strictObject({
      jsonBodyBytes: z
        .number()
        .int()
        .min(64)
        .max(16 * 1024 * 1024)
        .default(64 * 1024),
      shutdownTimeoutMs: z.number().int().min(0).max(600_000).default(15_000),
      /** Messages (sendmsg, sendmediamsg) one user may send per minute before 429 RATE_LIMITED; 0: no limit. */
      sendPerMinute: z.number().int().min(0).max(1_000_000).default(600),
      /** Login throttle (see README): failures per account, and per client address, within windowMs. */
      login: z
        .strictObject({
          accountFailures: z.number().int().min(1).max(10_000).default(5),
          addressFailures: z.number().int().min(1).max(1_000_000).default(100),
          windowMs: z.number().int().min(1_000).max(86_400_000).default(60_000),
        })
        .prefault({}),
      /** A request's head must arrive whole within this time (nginx: client_header_timeout). */
      headersTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
      /** A request body that sends nothing for this long is cut off (nginx: client_body_timeout). */
      bodyIdleTimeoutMs: z.number().int().min(100).max(600_000).default(15_000),
      /** A whole request, a large upload included, must arrive within this time. */
      requestTimeoutMs: z.number().int().min(1_000).max(3_600_000).default(600_000),
      /** An idle keep-alive connection is closed after this long. */
      keepAliveTimeoutMs: z.number().int().min(100).max(600_000).default(65_000),
      /** Connections one client address may hold at once (trusted proxies are not counted); 0: no cap. */
      connectionsPerAddress: z.number().int().min(0).max(1_000_000).default(256),
    })
    .prefault({}),
  cgiDefaults: z
    .strictObject({
      workers: z.number().int().min(1).max(16).default(1),
      timeoutMs: z.number().int().min(1).max(600_000).default(10_000),
      maxHeapMb: z.number().int().min(16).max(16_384).default(128),
      maxExternalMb: z.number().int().min(16).max(65_536).default(256),
    })
    .prefault({}),
  /** Per-CGI overrides of cgiDefaults. */
  cgis: z.record(z.string(), CgiLimitsSchema).default({}),
  faults: z
    .strictObject({
      /** A CGI whose workers crash this often within the window is quarantined. */
      crashLimit: z.number().int().min(1).default(5),
      crashWindowMs: z.number().int().min(100).default(10_000),
      probeInitialMs: z.number().int().min(10).default(1_000),
      probeMaxMs: z.number().int().min(10).default(60_000),
      /** The whole process's RSS above which a worker that stopped answering is terminated at once. */
      processRssMb: z.number().int().min(64).default(4_096),
      heartbeatMs: z.number().int().min(10).max(5_000).default(100),
    })
    .prefault({}),
  canary: z.record(z.string(), z.strictObject({ percent: z.number().min(0).max(100) })).default({}),
  canaryPolicy: z
    .strictObject({
      /** Requests the canary must have served before it can be judged. */
      minRequests: z.number().int().min(1).default(20),
      /** Roll back when canary 5xx rate − stable 5xx rate exceeds this. */
      maxErrorRateDelta: z.number().min(0).max(1).default(0.2),
    })
    .prefault({}),
  store: z
    .strictObject({
      synchronous: z.enum(['FULL', 'NORMAL']).default('FULL'),
      /**
       * SPEC §9: "sqlite" (default: one file in the data dir, one host) or
       * "postgres": everything the store holds in PostgreSQL at `url` (or
       * CGIHOST_DATABASE_URL), shared by any number of hosts (docs/postgres.md).
       */
      engine: z.enum(['sqlite', 'postgres']).default('sqlite'),
      url: z
        .string()
        .regex(/^postgres(ql)?:\/\//, 'store.url is a postgres:// URL')
        .optional(),
    })
    .prefault({}),
  groups: z.strictObject({ maxMembers: z.number().int().min(2).max(100_000).default(500) }).prefault({}),
  /** SPEC §6: who may write to whom, and how long a message may be recalled. */
  messaging: z
    .strictObject({
      /** 1:1 messages only between contacts (403 NOT_A_CONTACT otherwise). */
      contactsOnly: z.boolean().default(false),
      recallWindowMs: z
        .number()
        .int()
        .min(0)
        .max(7 * 24 * 3_600_000)
        .default(120_000),
    })
    .prefault({}),
  webhooks: z.array(WebhookSchema).default([]),
  /** The durable queue (fan-out, webhooks): retries, backoff, webhook timeouts. Store defaults apply to what is left out. */
  queue: z
    .strictObject({
      /** Tries of a job before it is dead-lettered (default 8). */
      maxAttempts: z.number().int().min(1).max(100).optional(),
      /** First retry delay, doubled each try up to backoffMaxMs (defaults 1000, 300000). */
      backoffBaseMs: z.number().int().min(1).optional(),
      backoffMaxMs: z.number().int().min(1).optional(),
      /** One webhook request's timeout (default 5000). */
      webhookTimeoutMs: z.number().int().min(10).max(600_000).optional(),
      /** Webhook deliveries in flight, in all and per endpoint (defaults 16, 4). */
      webhookConcurrency: z.number().int().min(1).max(1_000).optional(),
      webhookConcurrencyPerEndpoint: z.number().int().min(1).max(1_000).optional(),
    })
    .default({}),
  alerts: z.array(AlertRuleSchema).default([]),
  /** Per CGI group (folder): ctx.env and ctx.fetch's allow list. */
  cgiGroups: z.record(z.string(), CgiGroupSchema).default({}),
  metrics: z.strictObject({ enabled: z.boolean().default(true) }).prefault({}),
  log: z
    .strictObject({
      level: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
      /** 'json' (one object a line) or 'pretty' (cgihost dev). */
      format: z.enum(['json', 'pretty']).default('json'),
      /** One `request` line per HTTP request at info (method, path, status, ms, requestId, cgi, version, uid). */
      access: z.boolean().default(true),
    })
    .prefault({}),
});

export type Config = z.infer<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;
export type AlertRule = z.infer<typeof AlertRuleSchema>;
export type Webhook = z.infer<typeof WebhookSchema>;
export type CgiGroupConfig = z.infer<typeof CgiGroupSchema>;
