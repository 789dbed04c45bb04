/** What the single binary prints after a start-up problem it can name (CgiError codes CACHE_DIR_*, see src/errors.ts). */
export const CACHE_DIR_HINT =
  'Set CGIHOST_CACHE_DIR to a directory that is writable and on a filesystem not mounted noexec (for example CGIHOST_CACHE_DIR=$HOME/.cache/cgihost).';
