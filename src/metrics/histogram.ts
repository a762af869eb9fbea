/**
 * A fixed-memory log-linear histogram: every recorded value lands in a bucket at most 2 % wide,
 * so percentiles are exact to 2 % whatever the count, and `record` costs one logarithm.
 * Pure JavaScript so that it runs on either side of a boundary and on any runtime.
 *
 * Its state may live in memory the caller provides (`new Histogram({ buffer, byteOffset })`),
 * e.g. a SharedArrayBuffer that one thread records into and another reads. The histogram itself
 * does no synchronisation: one writer at a time, and a reader on another thread must copy the
 * bytes under its own protocol (a sequence lock) before reading a consistent state.
 */

import { invalidArgument } from '../errors.js';

const kGrowth = 1.02;
const kLogGrowth = Math.log(kGrowth);
/** Values below this (in the caller's unit) share the first bucket. */
const kSmallest = 1e-3;
const kBucketCount = Math.ceil(Math.log(1e12 / kSmallest) / kLogGrowth) + 2;

// Memory layout, from `byteOffset` (8-byte aligned):
//   bytes  0..7   count (float64)
//   bytes  8..15  sum   (float64)
//   bytes 16..23  max   (float64)
//   bytes 24..    kBucketCount uint32 bucket counts
const kCountIndex = 0;
const kSumIndex = 1;
const kMaxIndex = 2;
const kHeaderBytes = 24;
const kByteLength = kHeaderBytes + kBucketCount * Uint32Array.BYTES_PER_ELEMENT;

/** p50 / p99 / max of a distribution, in the unit named by the field that holds it. */
export interface PercentileSummary {
  /** The median, in the unit the field's name gives (`Ms`, `Us`). */
  readonly p50: number;
  /** The 99th percentile: one sample in a hundred is slower. */
  readonly p99: number;
  /** The slowest sample seen. */
  readonly max: number;
}

/** Caller-provided memory for a histogram: `Histogram.byteLength` bytes at `byteOffset`. */
export interface HistogramMemory {
  readonly buffer: ArrayBufferLike;
  /** Where the histogram starts; a multiple of 8. Default 0. */
  readonly byteOffset?: number;
}

export class Histogram {
  /** Bytes a histogram occupies in caller-provided memory. */
  static readonly byteLength = kByteLength;

  readonly #header: Float64Array;
  readonly #counts: Uint32Array;

  /**
   * A histogram in its own memory, or over `memory` (whose current contents it adopts: zeroed
   * memory is an empty histogram; memory another histogram wrote holds that histogram's state).
   */
  constructor(memory?: HistogramMemory) {
    const buffer = memory?.buffer ?? new ArrayBuffer(kByteLength);
    const byteOffset = memory?.byteOffset ?? 0;
    if (!Number.isInteger(byteOffset) || byteOffset < 0 || byteOffset % 8 !== 0) {
      throw invalidArgument('byteOffset', 'a non-negative multiple of 8', byteOffset);
    }
    if (buffer.byteLength < byteOffset + kByteLength) {
      throw invalidArgument(
        'buffer.byteLength',
        `at least ${byteOffset + kByteLength} (a histogram at offset ${byteOffset})`,
        buffer.byteLength,
      );
    }
    this.#header = new Float64Array(buffer, byteOffset, 3);
    this.#counts = new Uint32Array(buffer, byteOffset + kHeaderBytes, kBucketCount);
  }

  /** Adds one sample (any non-negative number, in the caller's unit). */
  record(value: number): void {
    if (!(value >= 0)) return;
    const header = this.#header;
    this.#counts[bucketOf(value)]!++;
    header[kCountIndex]!++;
    header[kSumIndex]! += value;
    if (value > header[kMaxIndex]!) header[kMaxIndex] = value;
  }

  get count(): number {
    return this.#header[kCountIndex]!;
  }

  get max(): number {
    return this.#header[kMaxIndex]!;
  }

  get mean(): number {
    const count = this.count;
    return count === 0 ? 0 : this.#header[kSumIndex]! / count;
  }

  /** The value below which `fraction` (0..1) of the samples fall; 0 when empty. */
  percentile(fraction: number): number {
    const count = this.count;
    if (count === 0) return 0;
    const max = this.max;
    const rank = Math.max(1, Math.ceil(fraction * count));
    let seen = 0;
    for (let bucket = 0; bucket < kBucketCount; bucket++) {
      seen += this.#counts[bucket]!;
      if (seen >= rank) return Math.min(upperBoundOf(bucket), max);
    }
    return max;
  }

  /** p50, p99 and max, each multiplied by `scale` (e.g. 1e-3 to turn µs into ms). */
  summary(scale = 1): PercentileSummary {
    return {
      p50: this.percentile(0.5) * scale,
      p99: this.percentile(0.99) * scale,
      max: this.max * scale,
    };
  }

  reset(): void {
    this.#counts.fill(0);
    this.#header.fill(0);
  }
}

function bucketOf(value: number): number {
  if (value <= kSmallest) return 0;
  return Math.min(kBucketCount - 1, 1 + Math.floor(Math.log(value / kSmallest) / kLogGrowth));
}

function upperBoundOf(bucket: number): number {
  return bucket === 0 ? kSmallest : kSmallest * Math.pow(kGrowth, bucket);
}
