// The bare worker hop: the echo baseline's honest minimum, with the work done
// in one worker_threads worker, as the host does with a CGI. The main thread
// reads the body (64 KiB limit) and hands {id, body} to the worker, batched per
// event-loop turn (one postMessage per turn, not per request); the worker
// JSON.parses, checks `text` (a string of at most 100 characters) and posts the
// JSON answers back, one message per batch. It is what isolation alone costs:
// the hop, with nothing of the host's own work (auth, routing, zod, metrics,
// request ids, logs).
//   node bench/baseline/hop-server.mjs [--port 0] [--host 127.0.0.1]
// Prints `listening on http://HOST:PORT` when ready, like the host.
import { Worker, isMainThread, parentPort } from 'node:worker_threads';
import { answerEcho, send, serveEcho } from './echo-http.mjs';

if (isMainThread) runMain();
else runWorker();

function runMain() {
  const worker = new Worker(new URL(import.meta.url));
  const pending = new Map();
  let nextId = 1;
  let batch = [];
  const flush = () => {
    const b = batch;
    batch = [];
    worker.postMessage(b);
  };
  worker.on('message', (answers) => {
    for (const [id, status, body] of answers) {
      const res = pending.get(id);
      pending.delete(id);
      if (res) send(res, status, body);
    }
  });
  worker.on('error', (err) => {
    console.error(err);
    process.exit(1);
  });

  serveEcho((text, res) => {
    const id = nextId++;
    pending.set(id, res);
    if (batch.length === 0) setImmediate(flush);
    batch.push([id, text]);
  });
}

function runWorker() {
  parentPort.on('message', (batch) => {
    parentPort.postMessage(batch.map(([id, body]) => [id, ...answerEcho(body)]));
  });
}
