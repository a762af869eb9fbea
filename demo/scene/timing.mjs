// Time bookkeeping shared by the scenarios: the tick times a loop records, a 100 Hz / 60 Hz
// schedule read from the 1 kHz ticks, and nearest-rank percentiles.

import { kLoopHz } from './rates.mjs';

/** The times (performance.now(), ms) of a loop's ticks, up to `capacity` of them. */
export class TickRecorder {
  constructor(capacity) {
    this.timesMs = new Float64Array(capacity);
    this.count = 0;
    this.frozen = false;
  }

  record(nowMs) {
    if (this.frozen || this.count === this.timesMs.length) return;
    this.timesMs[this.count++] = nowMs;
  }

  /** The recorded times; nothing is recorded after this. */
  freeze() {
    this.frozen = true;
    return this.timesMs.subarray(0, this.count);
  }
}

/** Room for every tick of a `seconds` window, and a second more for the start and the stop. */
export function tickCapacity(seconds) {
  return Math.ceil((seconds + 1) * kLoopHz);
}

/** The longest time between two consecutive ticks, in ms (0 with fewer than two). */
export function longestGapMs(timesMs) {
  let longest = 0;
  for (let i = 1; i < timesMs.length; i++) longest = Math.max(longest, timesMs[i] - timesMs[i - 1]);
  return longest;
}

/**
 * A schedule of `periodMs` read from the ticks: `isDue(nowMs)` is true once per period. Periods
 * that passed while the thread was busy are dropped, not made up in a burst.
 */
export function rateGate(periodMs) {
  let nextDueMs = null;
  return (nowMs) => {
    if (nextDueMs !== null && nowMs < nextDueMs) return false;
    const behind = nextDueMs === null ? 0 : Math.floor((nowMs - nextDueMs) / periodMs);
    nextDueMs = (nextDueMs ?? nowMs) + (behind + 1) * periodMs;
    return true;
  };
}

/** Nearest-rank p50 / p99 / max and the count; null for no samples. */
export function summarize(values) {
  if (values.length === 0) return null;
  const sorted = Float64Array.from(values).sort();
  const rank = (p) => sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
  return { p50: rank(50), p99: rank(99), max: sorted[sorted.length - 1], n: sorted.length };
}

/** Resolves after `ms` (a plain timer: the process stays alive meanwhile). */
export function sleepMs(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
