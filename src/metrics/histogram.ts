/**
 * A fixed-memory log-linear histogram: every recorded value lands in a bucket at most 2 % wide,
 * so percentiles are exact to 2 % whatever the count, and `record` costs one logarithm.
 * Pure JavaScript so that it runs on either side of a boundary and on any runtime.
 */

const kGrowth = 1.02;
const kLogGrowth = Math.log(kGrowth);
/** Values below this (in the caller's unit) share the first bucket. */
const kSmallest = 1e-3;
const kBucketCount = Math.ceil(Math.log(1e12 / kSmallest) / kLogGrowth) + 2;

/** p50 / p99 / max of a distribution, in the unit named by the field that holds it. */
export interface PercentileSummary {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export class Histogram {
  readonly #counts = new Uint32Array(kBucketCount);
  #count = 0;
  #sum = 0;
  #max = 0;

  /** Adds one sample (any non-negative number, in the caller's unit). */
  record(value: number): void {
    if (!(value >= 0)) return;
    this.#counts[bucketOf(value)]!++;
    this.#count++;
    this.#sum += value;
    if (value > this.#max) this.#max = value;
  }

  get count(): number {
    return this.#count;
  }

  get max(): number {
    return this.#max;
  }

  get mean(): number {
    return this.#count === 0 ? 0 : this.#sum / this.#count;
  }

  /** The value below which `fraction` (0..1) of the samples fall; 0 when empty. */
  percentile(fraction: number): number {
    if (this.#count === 0) return 0;
    const rank = Math.max(1, Math.ceil(fraction * this.#count));
    let seen = 0;
    for (let bucket = 0; bucket < kBucketCount; bucket++) {
      seen += this.#counts[bucket]!;
      if (seen >= rank) return Math.min(upperBoundOf(bucket), this.#max);
    }
    return this.#max;
  }

  /** p50, p99 and max, each multiplied by `scale` (e.g. 1e-3 to turn µs into ms). */
  summary(scale = 1): PercentileSummary {
    return {
      p50: this.percentile(0.5) * scale,
      p99: this.percentile(0.99) * scale,
      max: this.#max * scale,
    };
  }

  reset(): void {
    this.#counts.fill(0);
    this.#count = 0;
    this.#sum = 0;
    this.#max = 0;
  }
}

function bucketOf(value: number): number {
  if (value <= kSmallest) return 0;
  return Math.min(kBucketCount - 1, 1 + Math.floor(Math.log(value / kSmallest) / kLogGrowth));
}

function upperBoundOf(bucket: number): number {
  return bucket === 0 ? kSmallest : kSmallest * Math.pow(kGrowth, bucket);
}
