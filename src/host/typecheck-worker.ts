/**
 * The thread that type-checks CGIs after a hot reload, so that TypeScript
 * (seconds of CPU, ~100 MB) never runs on the host's main thread. It keeps
 * the last program, so a re-check reuses every file that did not change.
 */
import { parentPort } from 'node:worker_threads';
import type { Program } from 'typescript';
import { loadTypeScript, sdkTypes, typeCheck } from './typecheck.js';
import type { TypeCheckReply, TypeCheckRequest } from './type-watch.js';

let previous: Program | undefined;

parentPort!.on('message', (m: TypeCheckRequest) => {
  let reply: TypeCheckReply;
  try {
    const ts = loadTypeScript();
    const sdk = sdkTypes();
    if (!ts || !sdk) throw new Error('TypeScript or the SDK types are not available');
    const r = typeCheck(ts, sdk, m.files, m.cgisDir, previous);
    previous = r.program;
    reply = { id: m.id, issues: r.issues };
  } catch (e) {
    reply = { id: m.id, error: (e as Error).message };
  }
  parentPort!.postMessage(reply);
});
