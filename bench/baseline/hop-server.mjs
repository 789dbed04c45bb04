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
import { createServer } from 'node:http';
import { Worker, isMainThread, parentPort } from 'node:worker_threads';
import { parseArgs } from 'node:util';

const LIMIT = 64 * 1024;

if (isMainThread) runMain();
else runWorker();

function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function runMain() {
  const { values } = parseArgs({ options: { port: { type: 'string', default: '0' }, host: { type: 'string', default: '127.0.0.1' } } });
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

  const server = createServer((req, res) => {
    if (req.method !== 'POST' || req.url !== '/cgi-bin/echo') {
      send(res, req.url === '/cgi-bin/echo' ? 405 : 404, JSON.stringify({ error: { code: 'NO_SUCH_CGI', message: 'not found' } }));
      return;
    }
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > LIMIT) {
        send(res, 413, JSON.stringify({ error: { code: 'PAYLOAD_TOO_LARGE', message: 'body too large' } }));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (res.headersSent) return;
      const id = nextId++;
      pending.set(id, res);
      if (batch.length === 0) setImmediate(flush);
      batch.push([id, Buffer.concat(chunks).toString('utf8')]);
    });
  });

  server.listen(Number(values.port), values.host, () => {
    const { address, port } = server.address();
    console.log(`listening on http://${address}:${port}`);
  });

  for (const sig of ['SIGTERM', 'SIGINT']) {
    process.on(sig, () => {
      server.close(() => process.exit(0));
      server.closeIdleConnections();
      setTimeout(() => {
        server.closeAllConnections();
      }, 500).unref();
    });
  }
}

function runWorker() {
  const answer = (text) => {
    let input;
    try {
      input = JSON.parse(text);
    } catch {
      return [400, JSON.stringify({ error: { code: 'INVALID_JSON', message: 'body is not JSON' } })];
    }
    if (typeof input?.text !== 'string' || input.text.length > 100) {
      return [400, JSON.stringify({ error: { code: 'INVALID_INPUT', message: 'text must be a string of at most 100 characters' } })];
    }
    return [200, JSON.stringify({ echo: input.text })];
  };
  parentPort.on('message', (batch) => {
    parentPort.postMessage(batch.map(([id, body]) => [id, ...answer(body)]));
  });
}
