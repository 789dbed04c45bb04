/**
 * Why the single binary cannot start on this machine, each with what to do
 * about it. Printed as `cgihost: <message>`, exit code 1.
 */
export type SeaProblem = 'CACHE_DIR_UNWRITABLE' | 'CACHE_DIR_NOEXEC' | 'GLIBC_TOO_OLD' | 'ADDON_LOAD_FAILED' | 'NOT_A_BINARY';

export class SeaStartError extends Error {
  constructor(
    readonly problem: SeaProblem,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SeaStartError';
  }
}

export const CACHE_DIR_HINT =
  'Set CGIHOST_CACHE_DIR to a directory that is writable and on a filesystem not mounted noexec (for example CGIHOST_CACHE_DIR=$HOME/.cache/cgihost).';
