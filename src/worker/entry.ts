/**
 * Runs inside a unit's worker thread (a CGI, a consumer or a schedule): loads
 * the compiled unit, reports what it is, then serves what the host sends it
 * (requests, runs) or the store hands it (jobs). Anything the unit throws
 * outside a request, job or run ends this thread, and the host replaces it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type ConsumerMeta, type HostToWorker, type LoadSpec, type ScheduleMeta, type WorkerData, type WorkerToHost } from './protocol.js';
import { Outbox } from '../ports/outbox.js';
import { Runtime } from './runtime.js';
import { loadUnit } from './load-unit.js';
import { serveRequests } from './cgi-requests.js';
import { runConsumer } from './consumer-runner.js';
import { runSchedule } from './schedule-runner.js';
import { startHeartbeat, workArrived } from './heartbeat.js';

const data = workerData as WorkerData;
// Only the unit's small inline map is parsed: this bundle was loaded before the switch.
process.setSourceMapsEnabled(true);
const port = parentPort!;
const outbox = new Outbox<WorkerToHost>(port);
// A background throw or unhandled rejection ends this thread before the next
// flush: answers already made must still reach the host.
process.on('uncaughtExceptionMonitor', outbox.flush);
process.on('exit', outbox.flush);

startHeartbeat(data.heartbeat, data.heartbeatMs);
// A spare thread, started before it was needed, learns its unit from the first message.
if (data.load) begin(data.load);
else port.once('message', (batch: HostToWorker[]) => begin((batch[0] as { spec: LoadSpec }).spec));

function begin(spec: LoadSpec): void {
  workArrived();
  const rt = new Runtime(spec, outbox);
  const loaded = loadUnit(spec);
  // A refused unit leaves its thread idle; the host terminates it after reading the reason.
  if ('refused' in loaded) return outbox.push({ t: 'load-error', message: loaded.refused });
  outbox.push({ t: 'ready', meta: loaded.meta });
  // A consumer's jobs come from the store, not the host.
  spec.storePort.on('message', workArrived);
  const receive =
    loaded.kind === 'cgi'
      ? serveRequests(rt, loaded.def)
      : loaded.kind === 'consumer'
        ? runConsumer(rt, loaded.def, loaded.meta as ConsumerMeta)
        : runSchedule(rt, loaded.def, loaded.meta as ScheduleMeta);
  port.on('message', (batch: HostToWorker[]) => {
    workArrived();
    for (const m of batch) receive(m);
  });
}
