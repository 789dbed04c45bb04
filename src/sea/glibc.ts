/** The glibc check: the SQLite addon was linked against a glibc that the target may not have. */

/** "2.34" → [2, 34]; null when not a version. */
export function parseGlibc(v: string | null | undefined): [number, number] | null {
  const m = /^(\d+)\.(\d+)/.exec(v ?? '');
  return m ? [Number(m[1]), Number(m[2])] : null;
}

export function isOlder(have: string, need: string): boolean {
  const a = parseGlibc(have);
  const b = parseGlibc(need);
  if (!a || !b) return false;
  return a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
}

/** The glibc this process runs on (null on musl or when unknown). Costs a few ms: only asked after a failure. */
export function runtimeGlibc(): string | null {
  try {
    const header = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header;
    return header?.glibcVersionRuntime ?? null;
  } catch {
    return null;
  }
}

/**
 * The message for an addon that failed to load because of the glibc, or null
 * when the failure is something else. `needed` is what the build recorded.
 */
export function glibcProblem(loadError: string, needed: string | null, have: string | null): string | null {
  const missing = /GLIBC_(\d+\.\d+)/.exec(loadError)?.[1];
  const tooOld = missing !== undefined || (have !== null && needed !== null && isOlder(have, needed));
  if (!tooOld) return null;
  const need = needed ?? missing ?? 'a newer version';
  return (
    `this system's C library is too old for cgihost's SQLite addon: it needs glibc ${need} or newer, ` +
    `and this system has ${have ? `glibc ${have}` : 'an older or a non-glibc C library'}. ` +
    `Run this binary on a newer Linux (Debian 12, Ubuntu 22.04, RHEL 9 or later), or run cgihost from source with Node.js 20 (npm start).`
  );
}
