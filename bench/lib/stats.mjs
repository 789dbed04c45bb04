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
    r
      .map((c, i) => (numeric(c) && i > 0 ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
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

/**
 * Prints the per-round table of a load bench and each side's medians, and
 * returns those medians ({side: {rps, p50, p99, cpuUsPerReq, cpuCores, non2xx, errors}}).
 */
export function summariseRounds(rows, sides) {
  console.log('');
  printTable(
    ['round', 'side', 'req/s', 'p50', 'p99', 'cpu us/req', 'main us/req', 'cores', 'non2xx', 'errors'],
    rows.map((r) => [
      r.round,
      r.side,
      fmtNum(r.rps),
      fmtMs(r.p50),
      fmtMs(r.p99),
      fmtNum(r.cpuUsPerReq, 1),
      fmtNum(r.mainCpuUsPerReq, 1),
      fmtNum(r.cpuCores, 2),
      r.non2xx,
      r.errors,
    ]),
  );
  const summary = {};
  for (const side of sides) {
    const mine = rows.filter((r) => r.side === side);
    summary[side] = {
      rps: median(mine.map((r) => r.rps)),
      p50: median(mine.map((r) => r.p50)),
      p99: median(mine.map((r) => r.p99)),
      cpuUsPerReq: median(mine.map((r) => r.cpuUsPerReq)),
      mainCpuUsPerReq: median(mine.map((r) => r.mainCpuUsPerReq)),
      cpuCores: median(mine.map((r) => r.cpuCores)),
      non2xx: mine.reduce((s, r) => s + r.non2xx, 0),
      errors: mine.reduce((s, r) => s + r.errors, 0),
    };
  }
  console.log('\nmedians');
  printTable(
    ['side', 'req/s', 'p50', 'p99', 'cpu us/req', 'main us/req', 'cores', 'non2xx', 'errors'],
    sides.map((s) => [
      s,
      fmtNum(summary[s].rps),
      fmtMs(summary[s].p50),
      fmtMs(summary[s].p99),
      fmtNum(summary[s].cpuUsPerReq, 1),
      fmtNum(summary[s].mainCpuUsPerReq, 1),
      fmtNum(summary[s].cpuCores, 2),
      summary[s].non2xx,
      summary[s].errors,
    ]),
  );
  return summary;
}

/**
 * side/base req/s of each round, rounds run back to back: slow drifts of a
 * noisy machine cancel out of these.
 */
export function pairedRatios(rows, side, base) {
  const rounds = [...new Set(rows.map((r) => r.round))];
  return rounds.map((n) =>
    ratio(rows.find((x) => x.round === n && x.side === side).rps, rows.find((x) => x.round === n && x.side === base).rps),
  );
}
