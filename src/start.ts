/** `cgihost start` / `dev`: run until SIGTERM or SIGINT, then drain and exit 0. */
import type { Config } from './config/schema.js';
import { createLogger } from './log.js';
import { Server } from './server.js';

function reloadCertificates(server: Server): void {
  if (!server.config.tls) {
    server.log.info('SIGHUP: no tls in the config, nothing to reload');
    return;
  }
  try {
    server.front.listener.reloadTls();
    server.log.info('tls certificate reloaded', { cert: server.config.tls.cert });
  } catch (e) {
    server.log.error('tls certificate not reloaded; the previous one stays in use', { error: (e as Error).message });
  }
}

/** Resolves -1: the process keeps running; the signal handlers end it. */
export async function runServer(config: Config, opts: { dev: boolean }): Promise<number> {
  if (opts.dev) config.log.format = 'pretty';
  const log = createLogger(config.log);
  let server: Server;
  try {
    server = await Server.start(config, { log });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EADDRINUSE' || err.code === 'EACCES') {
      console.error(`cgihost: cannot listen on ${config.host}:${config.port}: ${err.message}`);
      return 1;
    }
    throw e;
  }
  // Handlers first: whoever reads the line below may signal at once, and an unhandled SIGTERM kills outright.
  let signals = 0;
  const stop = (signal: string) => {
    if (++signals > 1) {
      log.warn('second signal: exiting without draining', { signal });
      process.exit(1);
    }
    log.info('stopping: finishing in-flight requests', { signal, inflight: server.front.inflightCount });
    server.stop().then(
      () => {
        log.info('stopped');
        process.exit(0);
      },
      (e: Error) => {
        log.error('stop failed', { error: e.stack });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // For supervisors (the test suite among them): a host whose parent died without stopping it must not run on, orphaned.
  if (process.env.CGIHOST_STOP_ON_STDIN_EOF === '1') {
    process.stdin.on('end', () => stop('stdin closed'));
    process.stdin.resume();
  }
  // SIGHUP: certificates renewed on disk (certbot's deploy hook, say) are read again; open connections keep theirs.
  process.on('SIGHUP', () => reloadCertificates(server));
  const { host: h, port } = server.address;
  const shown = h.includes(':') ? `[${h}]` : h;
  const scheme = server.front.listener.scheme;
  console.log(
    `cgihost ${opts.dev ? 'dev ' : ''}listening on ${scheme}://${shown}:${port} (cgis: ${config.cgisDir}, data: ${config.dataDir})`,
  );
  return -1;
}
