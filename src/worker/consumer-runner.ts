/**
 * A consumer inside its worker: once the host says its version is live, it
 * subscribes to its topic on the store port; the store hands it jobs (at most
 * `concurrency` at once) and it answers each with its outcome. Asked to
 * drain (a hot reload), it takes nothing new and tells the host once the
 * jobs it holds are done.
 */
import type { ConsumerDefinition } from '../sdk/units.js';
import type { ToConsumer } from '../store/queue/consumers.js';
import { JobContext } from './context.js';
import { describe } from './load-unit.js';
import type { ConsumerMeta, HostToWorker } from './protocol.js';
import type { Runtime } from './runtime.js';

export function runConsumer(rt: Runtime, def: ConsumerDefinition, meta: ConsumerMeta): (m: HostToWorker) => void {
  const running = new Map<number, JobContext>();
  let draining = false;

  const drainedIfIdle = () => {
    if (draining && running.size === 0) rt.post({ t: 'drained' });
  };

  /** Runs the handler on one job; resolves how it ended (`permanent`: the payload can never pass the input). */
  async function attempt(ctx: JobContext, text: string): Promise<{ error: string | null; permanent?: boolean }> {
    let payload: unknown;
    try {
      payload = JSON.parse(text);
    } catch {
      return { error: 'the payload is not JSON', permanent: true };
    }
    const parsed = def.input.safeParse(payload);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(payload)'}: ${i.message}`).join('; ');
      rt.post({
        t: 'log',
        level: 'error',
        msg: 'job payload does not match the consumer input',
        fields: { jobId: ctx.job.jobId, issues },
        requestId: ctx.requestId,
      });
      return { error: `the payload does not match the consumer's input: ${issues}`.slice(0, 1000), permanent: true };
    }
    try {
      await def.handler(parsed.data as never, ctx);
      return { error: null };
    } catch (e) {
      const fields = { jobId: ctx.job.jobId, attempt: ctx.job.attempt, error: describe(e) };
      rt.post({ t: 'log', level: 'warn', msg: 'consumer job failed', fields, requestId: ctx.requestId });
      return { error: e instanceof Error ? e.message || e.name : String(e) };
    }
  }

  async function handle(
    id: number,
    job: JobContext['job'],
    text: string,
    answer: (r: { error: string | null; permanent?: boolean }) => void,
  ) {
    const ctx = new JobContext(rt, job);
    running.set(id, ctx);
    try {
      answer(await attempt(ctx, text));
    } finally {
      running.delete(id);
      drainedIfIdle();
    }
  }

  const onStore = (m: ToConsumer) => {
    if (m.t === 'job') {
      const job = { jobId: m.jobId, topic: m.topic, key: m.key, attempt: m.attempt, enqueuedAt: m.enqueuedAt };
      void handle(m.id, job, m.payload, (r) =>
        r.error === null ? rt.store.jobDone(m.id, m.attempt) : rt.store.jobFailed(m.id, m.attempt, r.error, r.permanent),
      );
    } else if (m.t === 'job-abort') running.get(m.id)?.abort();
  };
  /** Jobs the host hands over directly (cgihost/testing), numbered apart from the store's. */
  const direct = (id: number) => -id;

  return (m) => {
    if (m.t === 'consume' && !draining) {
      rt.store.subscribe(
        { topic: meta.topic, concurrency: meta.concurrency, maxAttempts: meta.maxAttempts, timeoutMs: meta.timeoutMs },
        onStore,
      );
    } else if (m.t === 'run-job') {
      void handle(direct(m.id), m.job, m.payload, (r) =>
        rt.post(r.error === null ? { t: 'ran', id: m.id, ok: true } : { t: 'ran', id: m.id, ok: false, error: r.error }),
      );
    } else if (m.t === 'abort') {
      running.get(direct(m.id))?.abort();
    } else if (m.t === 'drain') {
      draining = true;
      rt.store.unsubscribe();
      drainedIfIdle();
    }
  };
}
