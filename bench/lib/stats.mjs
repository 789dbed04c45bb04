// Small statistics and printing helpers shared by every bench.
// Figures on a shared, noisy machine are quoted as medians and ratios, never
// as one lucky run: these helpers make that the easy thing to print.

export function median(values) {
  return percentile(values, 50);
}

/** Linear-interpolated percentile (p in 0..100) of finite numbers; NaN when empty. */
export function percentile(values, p) {
  const xs = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (xs.length === 0) return NaN;
  const rank = (p / 100) * (xs.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return xs[lo] + (xs[hi] - xs[lo]) * (rank - lo);
}

export function mean(values) {
  const xs = values.filter(Number.isFinite);
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}

export function ratio(a, b) {
  return Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? a / b : NaN;
}

export function fmtRatio(r) {
  return Number.isFinite(r) ? `${r.toFixed(2)}x` : 'n/a';
}

/** Thousands-separated integer, or fixed decimals for small values. */
export function fmtNum(n, decimals = 0) {
  if (!Number.isFinite(n)) return 'n/a';
  return n.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

export function fmtMs(ms) {
  if (!Number.isFinite(ms)) return 'n/a';
  return ms < 10 ? `${ms.toFixed(2)} ms` : `${ms.toFixed(1)} ms`;
}

export function fmtMB(bytes) {
  return Number.isFinite(bytes) ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : 'n/a';
}

/** 'PASS' / 'MISS' against a goal, for the summary lines. */
export function verdict(ok) {
  return ok ? 'PASS' : 'MISS';
}

/**
 * Prints rows (arrays of cells) as an aligned text table under a header row.
 * Numbers-looking cells are right-aligned.
 */
export function printTable(header, rows, out = console.log) {
  const all = [header, ...rows].map((r) => r.map((c) => String(c ?? '')));
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const numeric = (s) => /^[-+]?[\d,.]+( ?(ms|MB|x|%))?$/.test(s) || s === 'n/a';
  const line = (r) =>
    r.map((c, i) => (numeric(c) && i > 0 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  out(line(all[0]));
  out(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of all.slice(1)) out(line(r));
}

/** A numeric command-line flag, checked to lie in [min, max] (benches stay bounded). */
export function boundedNumber(value, name, min, max) {
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max) throw new Error(`--${name} must be a number from ${min} to ${max}, not ${value}`);
  return n;
}
