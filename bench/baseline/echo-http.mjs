// What the three bare echo baselines (echo-server, hop-server, hop-ring-server)
// share: the HTTP side of the echo job (only POST /cgi-bin/echo, the body read
// under a size limit: 404/405/413) and the job itself (JSON.parse, `text` a
// string of at most 100 characters, {"echo": text}). They differ only in where
// the job runs: here on the main thread, or in one worker behind a hop.
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

/** The host's JSON body limit (limits.jsonBodyBytes). */
export const BODY_LIMIT = 64 * 1024;

export function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** The echo job on a request body: [status, JSON answer]. */
export function answerEcho(text) {
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
}

/**
 * Serves POST /cgi-bin/echo on `--port`/`--host` (argv), handing each whole
 * body (at most `limit` bytes) to `onBody(text, res)`; prints `listening on
 * http://HOST:PORT` when ready, like the host. SIGTERM/SIGINT close it; with
 * `forceExitMs`, the process exits that long after even if something (a
 * worker blocked in Atomics.wait) keeps it alive.
 */
export function serveEcho(onBody, { limit = BODY_LIMIT, forceExitMs } = {}) {
  const { values } = parseArgs({ options: { port: { type: 'string', default: '0' }, host: { type: 'string', default: '127.0.0.1' } } });
  const server = createServer((req, res) => {
    if (req.method !== 'POST' || req.url !== '/cgi-bin/echo') {
      send(res, req.url === '/cgi-bin/echo' ? 405 : 404, JSON.stringify({ error: { code: 'NO_SUCH_CGI', message: 'not found' } }));
      return;
    }
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > limit) {
        send(res, 413, JSON.stringify({ error: { code: 'PAYLOAD_TOO_LARGE', message: 'body too large' } }));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!res.headersSent) onBody(Buffer.concat(chunks).toString('utf8'), res);
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
      // Keep-alive sockets of a finished load would otherwise hold close() open.
      setTimeout(() => server.closeAllConnections(), 500).unref();
      if (forceExitMs !== undefined) setTimeout(() => process.exit(0), forceExitMs).unref();
    });
  }
  return server;
}
