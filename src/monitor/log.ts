/** Structured logs: one JSON object a line on stdout; readable lines in `cgihost dev`. */
export type Level = 'debug' | 'info' | 'warn' | 'error';
const RANK: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const COLOR: Record<Level, string> = { debug: '\x1b[90m', info: '\x1b[36m', warn: '\x1b[33m', error: '\x1b[31m' };

export interface Logger {
  log(level: Level, msg: string, fields?: Record<string, unknown>): void;
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export function createLogger(opts: { level: Level; format: 'json' | 'pretty'; write?: (line: string) => void }): Logger {
  const write = opts.write ?? ((line: string) => process.stdout.write(line + '\n'));
  const min = RANK[opts.level];
  const log = (level: Level, msg: string, fields?: Record<string, unknown>) => {
    if (RANK[level] < min) return;
    if (opts.format === 'json') {
      write(JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }));
      return;
    }
    const extra = fields && Object.keys(fields).length ? ' ' + Object.entries(fields).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ') : '';
    write(`${new Date().toISOString().slice(11, 23)} ${COLOR[level]}${level.padEnd(5)}\x1b[0m ${msg}${extra}`);
  };
  return {
    log,
    debug: (m, f) => log('debug', m, f),
    info: (m, f) => log('info', m, f),
    warn: (m, f) => log('warn', m, f),
    error: (m, f) => log('error', m, f),
  };
}
