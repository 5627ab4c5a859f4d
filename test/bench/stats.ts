/** Order statistics over a run's samples (exact: every latency is kept, a run has at most ~10^6). */

/** Nearest-rank percentile of an ascending array; undefined when there are no samples. */
export function percentile(sorted: ArrayLike<number>, p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

function sortedCopy(values: Iterable<number>): Float64Array {
  return Float64Array.from(values).sort();
}

/** The median of the defined values (rounds where a measure was unavailable are left out). */
export function median(values: Array<number | undefined>): number | undefined {
  const present = sortedCopy(values.filter((v): v is number => v !== undefined && Number.isFinite(v)));
  if (present.length === 0) return undefined;
  const mid = present.length >> 1;
  return present.length % 2 ? present[mid] : (present[mid - 1]! + present[mid]!) / 2;
}

/**
 * Rounds to `digits` significant digits but never below units, keeping the JSON short and honest
 * about precision: 0.01234 -> 0.0123, 12.345 -> 12.3, 12345.6 -> 12346.
 */
export function round(value: number | undefined, digits = 3): number | undefined {
  if (value === undefined || !Number.isFinite(value)) return undefined;
  if (Math.abs(value) >= 10 ** digits) return Math.round(value);
  return value === 0 ? 0 : Number(value.toPrecision(digits));
}

/** Whole MiB, or undefined when the size is unknown. */
export function megabytes(bytes: number | undefined): number | undefined {
  return bytes === undefined || Number.isNaN(bytes) ? undefined : Math.round(bytes / 1_048_576);
}
