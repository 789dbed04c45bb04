/**
 * The one logger. The main thread writes every record: one JSON object a line
 * on stdout in production, readable lines in `cgihost dev`. The other threads
 * log through a forwardLogger, whose records travel to the main thread as
 * typed messages (the store thread's `log` reply, a CGI worker's `log`
 * message) and are written there. Why not pino: docs/ARCHITECTURE.md.
 */
export type Level = 'debug' | 'info' | 'warn' | 'error';
const RANK: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const COLOR: Record<Level, string> = { debug: '\x1b[90m', info: '\x1b[36m', warn: '\x1b[33m', error: '\x1b[31m' };

export type LogListener = (level: Level, msg: string, fields: Record<string, unknown> | undefined) => void;

export interface Logger {
  log(level: Level, msg: string, fields?: Record<string, unknown>): void;
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** Sees every record at `min` or above, whatever the log level (the dashboard keeps recent errors). */
  listen?(min: Level, fn: LogListener): () => void;
}

/**
 * Lines written in one turn of the event loop leave in one write: under load
 * the access log is a line per request, and a write (and a wake-up of whoever
 * reads stdout) per line would cost more than the request's own bookkeeping.
 */
function batchedStdout(): (line: string) => void {
  let pending = '';
  const flush = () => {
    if (!pending) return;
    const out = pending;
    pending = '';
    process.stdout.write(out);
  };
  process.on('exit', flush);
  return (line) => {
    if (!pending) setImmediate(flush);
    pending += line + '\n';
  };
}

/** The current time as ISO 8601, made once per millisecond (a busy host logs a line per request). */
function isoNow(): string {
  const now = Date.now();
  if (now !== isoCache.ms) {
    isoCache.ms = now;
    isoCache.text = new Date(now).toISOString();
  }
  return isoCache.text;
}
const isoCache = { ms: 0, text: '' };

/**
 * One JSON record: `{"time", "level", "msg", ...fields}`. Plain fields (the
 * usual case) are serialised on their own and spliced in, which gives the
 * same text as stringifying the spread object at half the cost (the access
 * log writes one per request); anything else (an array, a `toJSON`, a field
 * named like the record's own) takes the spread.
 */
export function jsonLine(time: string, level: Level, msg: string, fields?: Record<string, unknown>): string {
  const head = `{"time":"${time}","level":"${level}","msg":${JSON.stringify(msg)}`;
  if (fields === undefined || fields === null) return head + '}';
  const proto = Object.getPrototypeOf(fields);
  if ((proto !== Object.prototype && proto !== null) || 'toJSON' in fields || 'time' in fields || 'level' in fields || 'msg' in fields) {
    return JSON.stringify({ time, level, msg, ...fields });
  }
  const rest = JSON.stringify(fields);
  return rest.length > 2 ? head + ',' + rest.slice(1) : head + '}';
}

/** The main thread's logger. */
export function createLogger(opts: { level: Level; format: 'json' | 'pretty'; write?: (line: string) => void }): Logger {
  const write = opts.write ?? batchedStdout();
  const min = RANK[opts.level];
  const listeners: Array<{ min: number; fn: LogListener }> = [];
  const log = (level: Level, msg: string, fields?: Record<string, unknown>) => {
    for (const l of listeners) {
      if (RANK[level] < l.min) continue;
      try {
        l.fn(level, msg, fields);
      } catch {
        // A listener must never break logging.
      }
    }
    if (RANK[level] < min) return;
    if (opts.format === 'json') {
      write(jsonLine(isoNow(), level, msg, fields));
      return;
    }
    write(prettyLine(level, msg, fields));
  };
  return {
    log,
    debug: (m, f) => log('debug', m, f),
    info: (m, f) => log('info', m, f),
    warn: (m, f) => log('warn', m, f),
    error: (m, f) => log('error', m, f),
    listen(level, fn) {
      const entry = { min: RANK[level], fn };
      listeners.push(entry);
      return () => {
        const i = listeners.indexOf(entry);
        if (i >= 0) listeners.splice(i, 1);
      };
    },
  };
}

/** A logger that hands every record to `sink`: a thread's, which posts it to the main thread (or a test's, which keeps it). */
export function forwardLogger(sink: (level: Level, msg: string, fields?: Record<string, unknown>) => void): Logger {
  return {
    log: sink,
    debug: (m, f) => sink('debug', m, f),
    info: (m, f) => sink('info', m, f),
    warn: (m, f) => sink('warn', m, f),
    error: (m, f) => sink('error', m, f),
  };
}

/** Drops every record (benchmarks, and code run without a host). */
export const silentLogger: Logger = forwardLogger(() => {});

/**
 * `cgihost dev`: time, level, message, then the request's identity
 * (cgi@version and requestId) before the other fields; a stack goes on its
 * own indented lines so it reads like one.
 */
function prettyLine(level: Level, msg: string, fields: Record<string, unknown> | undefined): string {
  const f = { ...fields };
  const who: string[] = [];
  if (typeof f.cgi === 'string') who.push(typeof f.version === 'string' && f.version ? `${f.cgi}@${f.version}` : f.cgi);
  if (typeof f.requestId === 'string') who.push(`req=${f.requestId}`);
  delete f.cgi;
  if (who.length && typeof f.version === 'string') delete f.version;
  delete f.requestId;
  let stack = '';
  for (const [k, v] of Object.entries(f)) {
    if (typeof v === 'string' && v.includes('\n')) {
      stack += '\n    ' + v.split('\n').join('\n    ');
      delete f[k];
    }
  }
  const extra = Object.entries(f)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `\x1b[90m${k}=\x1b[0m${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  const head = `${new Date().toISOString().slice(11, 23)} ${COLOR[level]}${level.padEnd(5)}\x1b[0m`;
  const whoText = who.length ? ` \x1b[35m[${who.join(' ')}]\x1b[0m` : '';
  return `${head}${whoText} ${msg}${extra ? ' ' + extra : ''}${stack}`;
}
