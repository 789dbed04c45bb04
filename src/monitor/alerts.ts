/**
 * Alerts: the rules of host.config.json, evaluated off the hot path, and the
 * host's own alerts (a quarantine, a canary rolled back). A rule fires once
 * its condition has held for `forSeconds`, and resolves once it clears; each
 * firing and resolution is logged (with an `alert` field) and handed to the
 * store's queue, which POSTs it to the webhooks subscribed to 'alert'.
 */
import { hostname } from 'node:os';
import type { AlertRule } from '../config/schema.js';
import type { Logger } from '../log.js';

export interface AlertEvent {
  /** The rule's name, or the host alert's (cgi_quarantined, canary_rolled_back). */
  alert: string;
  status: 'firing' | 'resolved';
  source: 'rule' | 'host';
  /** The CGI or queue topic concerned. */
  target?: string;
  metric?: AlertRule['metric'];
  value?: number;
  threshold?: number;
  forSeconds?: number;
  /** When the condition started to hold (rules). */
  since?: number;
  at: number;
  summary: string;
  fields?: Record<string, unknown>;
  host: string;
}

export interface AlertDeps {
  log: Logger;
  /** Hands the event to the queue (the store's `emit`). */
  emit(event: 'alert', payload: AlertEvent): Promise<void>;
  now?: () => number;
}

/** A rule's measured value per target; null when there is nothing to judge (no requests). */
export type Measure = (rule: AlertRule) => Map<string, number | null>;

interface RuleState {
  pendingSince?: number;
  firing?: AlertEvent;
}

const HOST = hostname();
const KEEP = 100;

export class Alerts {
  private readonly states = new Map<string, RuleState>();
  private readonly history: AlertEvent[] = [];
  private readonly now: () => number;

  constructor(
    readonly rules: readonly AlertRule[],
    private readonly deps: AlertDeps,
  ) {
    this.now = deps.now ?? Date.now;
  }

  /** Judges every rule once; `measure` gives each target's current value. */
  evaluate(measure: Measure): void {
    const now = this.now();
    for (const rule of this.rules) {
      let values: Map<string, number | null>;
      try {
        values = measure(rule);
      } catch (e) {
        this.deps.log.warn('alert rule could not be measured', { rule: rule.name, error: (e as Error).message });
        continue;
      }
      const prefix = `${rule.name}\u0000`;
      // Targets that disappeared (a removed CGI, a drained topic) count as clear.
      for (const key of this.states.keys()) {
        const target = key.slice(prefix.length);
        if (key.startsWith(prefix) && !values.has(target)) values.set(target, null);
      }
      for (const [target, value] of values) this.judge(rule, target, value, now);
    }
  }

  /** A host alert: fired once, never resolved. */
  raise(name: string, fields: Record<string, unknown>): void {
    const target = typeof fields.cgi === 'string' ? fields.cgi : undefined;
    const why = typeof fields.why === 'string' ? `: ${fields.why}` : '';
    this.publish({
      alert: name,
      status: 'firing',
      source: 'host',
      target,
      at: this.now(),
      summary: `${name.replace(/_/g, ' ')}${target ? ` (${target})` : ''}${why}`,
      fields,
      host: HOST,
    });
  }

  /** Rule alerts firing now. */
  active(): AlertEvent[] {
    return [...this.states.values()].flatMap((s) => (s.firing ? [s.firing] : []));
  }

  /** Firings and resolutions, newest first. */
  recent(limit = 50): AlertEvent[] {
    return this.history.slice(-limit).reverse();
  }

  private judge(rule: AlertRule, target: string, value: number | null, now: number): void {
    const key = `${rule.name}\u0000${target}`;
    const st = this.states.get(key) ?? {};
    const holds = value !== null && value > rule.threshold;
    if (holds) {
      st.pendingSince ??= now;
      if (!st.firing && now - st.pendingSince >= rule.forSeconds * 1000) {
        st.firing = this.event(rule, target, value, 'firing', st.pendingSince, now);
        this.publish(st.firing);
      } else if (st.firing) {
        st.firing.value = value;
      }
      this.states.set(key, st);
      return;
    }
    if (st.firing) this.publish(this.event(rule, target, value ?? undefined, 'resolved', st.firing.since, now));
    this.states.delete(key);
  }

  private event(
    rule: AlertRule,
    target: string,
    value: number | undefined,
    status: AlertEvent['status'],
    since: number | undefined,
    at: number,
  ): AlertEvent {
    return {
      alert: rule.name,
      status,
      source: 'rule',
      target,
      metric: rule.metric,
      value,
      threshold: rule.threshold,
      forSeconds: rule.forSeconds,
      since,
      at,
      summary: describe(rule, target, value, status),
      host: HOST,
    };
  }

  private publish(e: AlertEvent): void {
    // A copy: a firing alert's live value keeps changing, the record of when it fired does not.
    this.history.push({ ...e });
    if (this.history.length > KEEP) this.history.shift();
    const { fields, ...rest } = e;
    const logFields = { ...fields, ...rest, alert: e.alert };
    if (e.status === 'firing') this.deps.log.error(`alert: ${e.summary}`, logFields);
    else this.deps.log.info(`alert resolved: ${e.summary}`, logFields);
    let queued: Promise<void>;
    try {
      queued = this.deps.emit('alert', e);
    } catch (err) {
      queued = Promise.reject(err);
    }
    queued.catch((err: Error) =>
      this.deps.log.warn('alert not queued for webhooks', { alert: e.alert, error: err?.message ?? String(err) }),
    );
  }
}

function describe(rule: AlertRule, target: string, value: number | undefined, status: AlertEvent['status']): string {
  const held = rule.forSeconds > 0 ? ` for ${rule.forSeconds} s` : '';
  const v = value === undefined ? 'n/a' : format(rule.metric, value);
  switch (rule.metric) {
    case 'quarantined':
      return status === 'firing' ? `${target} is quarantined${held}` : `${target} is no longer quarantined`;
    default: {
      const what =
        rule.metric === 'queue_lag_seconds'
          ? `queue ${target} lag`
          : rule.metric === 'biz'
            ? // A counter's rate per second or a gauge's value: the metric's own unit.
              target
            : `${target} ${rule.metric === 'error_rate' ? 'error rate' : 'p99'}`;
      return status === 'firing'
        ? `${what} ${v} > ${format(rule.metric, rule.threshold)}${held} [${rule.name}]`
        : `${what} ${value === undefined ? 'no longer measured (no requests)' : `back to ${v}`} [${rule.name}]`;
    }
  }
}

function format(metric: AlertRule['metric'], v: number): string {
  if (metric === 'error_rate') return `${(v * 100).toFixed(1)}%`;
  if (metric === 'p99_ms') return `${v.toFixed(v < 10 ? 1 : 0)} ms`;
  if (metric === 'queue_lag_seconds') return `${v.toFixed(1)} s`;
  if (metric === 'biz') return String(Number(v.toPrecision(4)));
  return String(v);
}
