/** `cgihost start | dev | check | new | canary | promote | rollback | users | backup | migrate-store` */
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from './config/load.js';
import { CgiError, HOST_ERROR_EXIT, isHostErrorCode } from './errors.js';
import { DIST_DIR } from './host/runtime-paths.js';
import { runServer } from './start.js';
import { checkCgis } from './host/check.js';
import { scaffoldCgi } from './host/scaffold.js';
import { canaryCommand } from './host/canary-cli.js';
import { usersCommand } from './host/users-cli.js';
import { backupCommand } from './host/backup-cli.js';

const USAGE = `usage: cgihost <command> [options]

commands:
  start                 serve the cgis folder (the default)
  dev                   start, with readable logs and hot reload
  check                 compile and load-check every CGI; non-zero exit on any error
  new <group>/<name>    scaffold a CGI and its test
  canary <name> <pct>   set a CGI's canary share on a running host
  promote <name>        make the canary the stable version
  rollback <name>       send every user back to the stable version
  users list [PREFIX]   list accounts (on a running host)
  users disable|enable|reset-password <username>
                        disable (sessions end at once) or enable an account, or set a new
                        password (made up and printed, or read with --password-stdin)
  backup FILE           online backup of the database to FILE and the media folder to
                        FILE.media (--media DIR), while the host serves
  migrate-store --to postgres://USER@HOST:PORT/DB
                        copy the stopped SQLite install of --data-dir into an empty
                        PostgreSQL database (media files stay in the data dir's media/)

options:
  --config FILE   host.config.json by default
  --port N  --host H  --data-dir DIR  --cgis-dir DIR
  --url URL       (canary, promote, rollback, users, backup) the running host, default from the
                  config; backup without --url is made by this process on the data dir
  --to URL        (migrate-store) the target PostgreSQL database
  --json          (users) print JSON
  --version       print the version`;

function version(): string {
  try {
    return JSON.parse(readFileSync(join(DIST_DIR, '..', 'package.json'), 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      'data-dir': { type: 'string' },
      'cgis-dir': { type: 'string' },
      url: { type: 'string' },
      to: { type: 'string' },
      json: { type: 'boolean' },
      'password-stdin': { type: 'boolean' },
      media: { type: 'string' },
      'busy-share': { type: 'string' },
      version: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.version) {
    console.log(`cgihost ${version()}`);
    return 0;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const [command = 'start', ...rest] = positionals;
  let port: number | undefined;
  if (values.port !== undefined) {
    port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new CgiError('CONFIG_INVALID', `--port must be a port number, not "${values.port}"`);
  }
  const overrides = { port, host: values.host, dataDir: values['data-dir'], cgisDir: values['cgis-dir'] };
  const config = () => loadConfig(values.config, overrides);
  switch (command) {
    case 'start':
      return runServer(config(), { dev: false });
    case 'dev':
      return runServer(config(), { dev: true });
    case 'check':
      return checkCgis(config());
    case 'new':
      return scaffoldCgi(config().cgisDir, rest[0]);
    case 'canary':
    case 'promote':
    case 'rollback':
      return canaryCommand(config(), command, rest, values.url);
    case 'users':
      return usersCommand(config(), rest, { url: values.url, json: values.json, passwordStdin: values['password-stdin'] });
    case 'backup':
      return backupCommand(config(), rest, { media: values.media, url: values.url, busyShare: values['busy-share'] });
    case 'migrate-store':
      // Loaded on use: the PostgreSQL driver is for this command only (in this build).
      return (await import('./host/migrate-store-cli.js')).migrateStoreCommand(config(), rest, { to: values.to });
    default:
      console.error(`unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== -1) process.exitCode = code;
  },
  (e: Error) => {
    if (e instanceof CgiError && isHostErrorCode(e.code)) {
      console.error(`cgihost: ${e.message}`);
      process.exit(HOST_ERROR_EXIT[e.code]);
    }
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      console.error(`cgihost: ${e.message}`);
      process.exit(2);
    }
    console.error(e.stack ?? e);
    process.exit(1);
  },
);
