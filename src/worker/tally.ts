/**
 * ctx.metrics in the worker, and the count of ctx.fetch calls: updates are
 * summed per metric and label set over one event-loop turn and cross to the
 * host in one message, beside the answers of that turn (the host keeps the
 * series, caps them and writes /metrics).
 */
import { CgiError } from '../index.js';
import { HISTOGRAM_BUCKETS, LABEL_NAME, METRIC_NAME, type MetricLabels, type Metrics } from '../sdk/metrics.js';
import type { BizUpdate, FetchCount, WorkerToHost } from './protocol.js';

const MAX_LABELS = 10;
const MAX_LABEL_VALUE = 200;

export class Tally implements Metrics {
  private updates = new Map<string, BizUpdate>();
  private fetches = new Map<string, FetchCount>();
  private scheduled = false;

  constructor(private readonly post: (m: WorkerToHost) => void) {}

  counter(name: string, labels?: MetricLabels) {
    const l = checked(name, labels);
    return {
      inc: (n = 1) => {
        if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) bad(`counter ${name}: inc() takes a finite number of at least 0`);
        this.add('counter', name, l).value += n;
      },
    };
  }

  gauge(name: string, labels?: MetricLabels) {
    const l = checked(name, labels);
    return {
      set: (v: number) => {
        if (typeof v !== 'number' || !Number.isFinite(v)) bad(`gauge ${name}: set() takes a finite number`);
        this.add('gauge', name, l).value = v;
      },
    };
  }

  histogram(name: string, labels?: MetricLabels) {
    const l = checked(name, labels);
    return {
      observe: (v: number) => {
        if (typeof v !== 'number' || !Number.isFinite(v)) bad(`histogram ${name}: observe() takes a finite number`);
        const u = this.add('histogram', name, l);
        u.value += v;
        let i = 0;
        while (i < HISTOGRAM_BUCKETS.length && v > HISTOGRAM_BUCKETS[i]!) i++;
        u.counts![i]!++;
      },
    };
  }

  /** One ctx.fetch call's outcome. */
  fetched(host: string, status: string): void {
    const k = `${host}\u0000${status}`;
    const c = this.fetches.get(k);
    if (c) c[2]++;
    else this.fetches.set(k, [host, status, 1]);
    this.schedule();
  }

  /** Sends what is waiting now. */
  readonly flush = (): void => {
    this.scheduled = false;
    if (this.updates.size === 0 && this.fetches.size === 0) return;
    const m: Extract<WorkerToHost, { t: 'tally' }> = { t: 'tally' };
    if (this.updates.size) m.metrics = [...this.updates.values()];
    if (this.fetches.size) m.fetches = [...this.fetches.values()];
    this.updates = new Map();
    this.fetches = new Map();
    this.post(m);
  };

  private add(kind: BizUpdate['kind'], name: string, labels: Array<[string, string]>): BizUpdate {
    const k = `${kind}\u0000${name}\u0000${JSON.stringify(labels)}`;
    let u = this.updates.get(k);
    if (!u) {
      u = { kind, name, labels, value: 0 };
      if (kind === 'histogram') u.counts = new Array<number>(HISTOGRAM_BUCKETS.length + 1).fill(0);
      this.updates.set(k, u);
    }
    this.schedule();
    return u;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.flush);
  }
}

function checked(name: string, labels: MetricLabels | undefined): Array<[string, string]> {
  if (typeof name !== 'string' || !METRIC_NAME.test(name) || name.length > 100)
    bad(`metric name "${String(name)}" must match [a-z][a-z0-9_]*`);
  if (labels === undefined) return [];
  if (typeof labels !== 'object' || labels === null) bad(`metric ${name}: labels must be an object of strings`);
  const out: Array<[string, string]> = [];
  for (const [k, v] of Object.entries(labels)) {
    if (!LABEL_NAME.test(k) || k.startsWith('__')) bad(`metric ${name}: label name "${k}" must match [a-zA-Z_][a-zA-Z0-9_]*`);
    if (typeof v !== 'string' && !(typeof v === 'number' && Number.isFinite(v)))
      bad(`metric ${name}: label ${k} must be a string or a number`);
    const s = String(v);
    if (s.length > MAX_LABEL_VALUE) bad(`metric ${name}: label ${k} is over ${MAX_LABEL_VALUE} characters`);
    out.push([k, s]);
  }
  if (out.length > MAX_LABELS) bad(`metric ${name}: at most ${MAX_LABELS} labels`);
  return out.sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

function bad(message: string): never {
  throw new CgiError(400, 'INVALID_INPUT', `ctx.metrics: ${message}`);
}
