// From a scenario's tick times to what the report draws: the lateness of every tick (recovered
// by lateness.mjs) and the time between consecutive ticks, each binned on a logarithmic scale.

import { kLoopHz } from '../scene/rates.mjs';
import { longestGapMs } from '../scene/timing.mjs';
import { recoverLateness } from './lateness.mjs';

const kPeriodMs = 1000 / kLoopHz;
const kBinsPerDecade = 5;
/**
 * Lateness is less than one period (1,000 µs) by construction; a worker that spins before its
 * deadlines starts most ticks within 0.1 µs of it.
 */
export const kLatenessRangeUs = [0.01, 1000];
/**
 * Time between ticks: 1 ms when all is well; a stall shows as a longer interval. The range is
 * offset by half a bin so that 1 ms sits in the middle of one bin, not on an edge.
 */
const kHalfBin = 10 ** (0.5 / kBinsPerDecade);
export const kIntervalRangeMs = [0.1 / kHalfBin, 100 * kHalfBin];

/**
 * The two histograms of one scenario, and how the lateness was recovered (see lateness.mjs).
 * `stats` is the loop's stats().
 */
export function analyseTicks(timesMs, stats) {
  const { method, latenessUs } = recoverLateness(timesMs, kPeriodMs, stats);
  const intervalsMs = timesMs.slice(1).map((time, i) => time - timesMs[i]);
  return {
    latenessMethod: method,
    latenessUs: binLog(latenessUs, kLatenessRangeUs),
    intervalsMs: binLog(intervalsMs, kIntervalRangeMs),
  };
}

/**
 * Counts of `values` in logarithmic bins over [low, high), kBinsPerDecade per decade, plus the
 * values below `low` and at or above `high`:
 * { low, high, binsPerDecade, edges, counts, below, above, total }.
 */
export function binLog(values, [low, high]) {
  const decades = Math.log10(high / low);
  const binCount = Math.round(decades * kBinsPerDecade);
  const edges = Array.from({ length: binCount + 1 }, (_, i) => low * 10 ** (i / kBinsPerDecade));
  const counts = new Array(binCount).fill(0);
  let below = 0;
  let above = 0;
  for (const value of values) {
    if (value < low) below++;
    else if (value >= high) above++;
    else {
      const bin = Math.floor(Math.log10(value / low) * kBinsPerDecade);
      counts[Math.min(binCount - 1, bin)]++;
    }
  }
  return {
    low,
    high,
    binsPerDecade: kBinsPerDecade,
    edges,
    counts,
    below,
    above,
    total: values.length,
  };
}

/**
 * A scenario's result as reported: its tick times replaced by the longest gap between ticks and
 * the two histograms. A scenario that did not run is returned as it is.
 */
export function withHistograms({ timesMs, ...scenario }) {
  if (timesMs === undefined) return scenario;
  return {
    ...scenario,
    longestGapMs: longestGapMs(timesMs),
    histograms: analyseTicks(timesMs, scenario.loop),
  };
}
