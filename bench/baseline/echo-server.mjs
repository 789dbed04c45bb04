// The bare baseline: the honest minimal node:http equivalent of the echo CGI.
// It does what the host must do for that CGI, in one thread and nothing more:
// read the JSON body (with the same 64 KiB limit), JSON.parse it, check `text`
// is a string of at most 100 characters, answer {"echo": text} as JSON.
//   node bench/baseline/echo-server.mjs [--port 0] [--host 127.0.0.1]
// Prints `listening on http://HOST:PORT` when ready, like the host.
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { port: { type: 'string', default: '0' }, host: { type: 'string', default: '127.0.0.1' } } });
const LIMIT = 64 * 1024;

function send(res, status, obj) {
  const body = JSON.stringify(obj);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

const server = createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/cgi-bin/echo') {
    send(res, req.url === '/cgi-bin/echo' ? 405 : 404, { error: { code: 'NO_SUCH_CGI', message: 'not found' } });
    return;
  }
  const chunks = [];
  let size = 0;
  req.on('data', (c) => {
    size += c.length;
    if (size > LIMIT) {
      send(res, 413, { error: { code: 'PAYLOAD_TOO_LARGE', message: 'body too large' } });
      req.destroy();
      return;
    }
    chunks.push(c);
  });
  req.on('end', () => {
    if (res.headersSent) return;
    let input;
    try {
      input = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      send(res, 400, { error: { code: 'INVALID_JSON', message: 'body is not JSON' } });
      return;
    }
    if (typeof input?.text !== 'string' || input.text.length > 100) {
      send(res, 400, { error: { code: 'INVALID_INPUT', message: 'text must be a string of at most 100 characters' } });
      return;
    }
    send(res, 200, { echo: input.text });
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
    setTimeout(() => {
      server.closeAllConnections();
    }, 500).unref();
  });
}
