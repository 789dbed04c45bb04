// The bare baseline: the honest minimal node:http equivalent of the echo CGI.
// It does what the host must do for that CGI, in one thread and nothing more:
// read the JSON body (with the same 64 KiB limit), JSON.parse it, check `text`
// is a string of at most 100 characters, answer {"echo": text} as JSON.
//   node bench/baseline/echo-server.mjs [--port 0] [--host 127.0.0.1]
// Prints `listening on http://HOST:PORT` when ready, like the host.
import { answerEcho, send, serveEcho } from './echo-http.mjs';

serveEcho((text, res) => send(res, ...answerEcho(text)));
