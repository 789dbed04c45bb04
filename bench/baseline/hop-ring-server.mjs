// The bare worker hop of hop-server.mjs with the hop made through shared
// memory instead of postMessage: one ring of fixed slots each way over a
// SharedArrayBuffer. The main thread writes the requests of one event-loop
// turn into the request ring and wakes the worker once (Atomics.notify); the
// worker, blocked in Atomics.wait (spinning SPIN_US microseconds first,
// default 0), answers every request it finds into the answer ring and wakes
// the main thread, which waits with Atomics.waitAsync. The shape of Piscina's
// `atomics` mode, measured against the postMessage hop by
// `node bench/echo.mjs --ring` (issue 18's first suggested direction).
//   node bench/baseline/hop-ring-server.mjs [--port 0] [--host 127.0.0.1]
// Prints `listening on http://HOST:PORT` when ready, like the host.
import { Worker, isMainThread, workerData } from 'node:worker_threads';
import { answerEcho, send, serveEcho } from './echo-http.mjs';

/** Slots per ring, and bytes per slot: a 12-byte header (id, length, status) and the UTF-8 body. */
const SLOTS = 1024;
const SLOT = 2048;
const HEADER = 12;
const LIMIT = SLOT - HEADER;
// Control words (Int32): requests written, requests taken, answers written.
const REQ_HEAD = 0;
const REQ_TAIL = 1;
const RES_HEAD = 2;

if (isMainThread) runMain();
else runWorker();

function rings({ control, requests, answers }) {
  return {
    control: new Int32Array(control),
    req: { bytes: Buffer.from(requests), words: new Int32Array(requests) },
    res: { bytes: Buffer.from(answers), words: new Int32Array(answers) },
  };
}

function put(ring, index, id, status, text) {
  const at = (index % SLOTS) * SLOT;
  const length = ring.bytes.write(text, at + HEADER, LIMIT, 'utf8');
  ring.words[at >> 2] = id;
  ring.words[(at >> 2) + 1] = length;
  ring.words[(at >> 2) + 2] = status;
}

function take(ring, index) {
  const at = (index % SLOTS) * SLOT;
  const length = ring.words[(at >> 2) + 1];
  return [ring.words[at >> 2], ring.words[(at >> 2) + 2], ring.bytes.toString('utf8', at + HEADER, at + HEADER + length)];
}

function runMain() {
  const shared = {
    control: new SharedArrayBuffer(16),
    requests: new SharedArrayBuffer(SLOTS * SLOT),
    answers: new SharedArrayBuffer(SLOTS * SLOT),
  };
  const r = rings(shared);
  const worker = new Worker(new URL(import.meta.url), { workerData: shared });
  worker.on('error', (err) => {
    console.error(err);
    process.exit(1);
  });
  const pending = new Map();
  let nextId = 1;
  let reqHead = 0;
  let resTail = 0;
  let wakeScheduled = false;
  const wakeWorker = () => {
    wakeScheduled = false;
    Atomics.notify(r.control, REQ_HEAD, 1);
  };
  const takeAnswers = () => {
    const head = Atomics.load(r.control, RES_HEAD);
    while (resTail < head) {
      const [id, status, body] = take(r.res, resTail++);
      const res = pending.get(id);
      pending.delete(id);
      if (res) send(res, status, body);
    }
    const wait = Atomics.waitAsync(r.control, RES_HEAD, head);
    if (wait.async) wait.value.then(takeAnswers);
    else setImmediate(takeAnswers);
  };
  takeAnswers();

  serveEcho(
    (text, res) => {
      // Both rings hold at most SLOTS requests in flight (the answer ring has a slot for each).
      if (reqHead - resTail >= SLOTS) {
        send(res, 503, JSON.stringify({ error: { code: 'BUSY', message: 'ring full' } }));
        return;
      }
      const id = nextId++;
      pending.set(id, res);
      put(r.req, reqHead, id, 0, text);
      Atomics.store(r.control, REQ_HEAD, ++reqHead);
      if (!wakeScheduled) {
        wakeScheduled = true;
        setImmediate(wakeWorker);
      }
    },
    // A slot holds the body; the worker blocks in Atomics.wait and never ends by itself.
    { limit: LIMIT, forceExitMs: 1_500 },
  );
}

function runWorker() {
  const r = rings(workerData);
  const spinMs = Number(process.env.SPIN_US ?? 0) / 1000;
  let tail = 0;
  let resHead = 0;
  for (;;) {
    const head = Atomics.load(r.control, REQ_HEAD);
    if (head === tail) {
      const until = performance.now() + spinMs;
      while (Atomics.load(r.control, REQ_HEAD) === tail && performance.now() < until);
      if (Atomics.load(r.control, REQ_HEAD) === tail) Atomics.wait(r.control, REQ_HEAD, tail);
      continue;
    }
    while (tail < head) {
      const [id, , body] = take(r.req, tail++);
      const [status, out] = answerEcho(body);
      put(r.res, resHead++, id, status, out);
    }
    Atomics.store(r.control, REQ_TAIL, tail);
    Atomics.store(r.control, RES_HEAD, resHead);
    Atomics.notify(r.control, RES_HEAD, 1);
  }
}
