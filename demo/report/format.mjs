// Number formats shared by the text table and the HTML report.

/** Microseconds: one decimal below 10, whole numbers with separators above. */
export function micros(us) {
  return us < 10 ? us.toFixed(1) : count(Math.round(us));
}

/** Milliseconds: two decimals below 10, one below 100, whole numbers above. */
export function millis(ms) {
  if (ms < 10) return ms.toFixed(2);
  return ms < 100 ? ms.toFixed(1) : count(Math.round(ms));
}

export function count(n) {
  return n.toLocaleString('en-US');
}

/** "p50 / p99 / max" of a summary with `format`, or an em dash. */
export function triple(summary, format) {
  return summary ? `${format(summary.p50)} / ${format(summary.p99)} / ${format(summary.max)}` : '—';
}

/** `part` as a percentage of `whole`: whole numbers, one decimal under 10 %. */
export function percentOf(part, whole) {
  if (!(whole > 0)) return '—';
  const percent = (100 * part) / whole;
  return `${percent < 10 ? percent.toFixed(1) : Math.round(percent)}%`;
}

/** `name [code]: message` of an error (or of its JSON form). */
export function describeError(error) {
  return `${error.name}${error.code ? ` [${error.code}]` : ''}: ${error.message}`;
}
