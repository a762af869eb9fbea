// The lateness of every tick of a loop, recovered from the tick times alone, for the report's
// histograms. RealtimeLoop's stats() gives percentiles, not each tick; the tick function only
// sees the time it started. But a loop's deadlines lie on a grid (origin + n × period) and a
// tick that runs is always less than one period late (later ones are missed), so each tick's
// lateness is (time − phase) mod period, where `phase` is the grid's offset: one unknown for
// the whole run. This module finds it.

const kRelativeTolerance = 0.1; // how far the recovered p50 and p99 may stray from stats()
const kFloorUs = { p50: 0.05, p99: 1 }; // below these, percentiles are compared absolutely

/**
 * Lateness in µs of each tick at `timesMs` (ms, one thread's performance.now()), and how the
 * grid was found. `stats` is the loop's stats(), computed from the same ticks (or a few more).
 *
 * `method: 'matched'`: the loop's max lateness is exact, so the latest tick of the run sits at
 * phase + max; each tick could be that one, which gives one candidate phase per tick (only those
 * followed by an empty stretch of period − max before the next tick's phase can be right). The
 * candidate whose p50 and p99 agree with stats() (within 10 %) is taken.
 * `method: 'estimated'`: no candidate agreed (the worst tick was not among those recorded):
 * the phase that makes the mean lateness smallest, which underestimates every value by the
 * smallest lateness of the run and can wrap a few near-zero ticks to the top of the range.
 */
export function recoverLateness(timesMs, periodMs, stats) {
  const phases = Float64Array.from(timesMs, (time) => modulo(time, periodMs)).sort();
  const matched = matchPhase(phases, periodMs, stats.jitterUs);
  const phase = matched ?? minimumMeanPhase(phases, periodMs);
  return {
    method: matched === undefined ? 'estimated' : 'matched',
    latenessUs: Float64Array.from(timesMs, (time) => modulo(time - phase, periodMs) * 1000),
  };
}

function matchPhase(phases, periodMs, jitterUs) {
  const n = phases.length;
  const maxMs = jitterUs.max / 1000;
  const ranks = { p50: Math.ceil(0.5 * n) - 1, p99: Math.ceil(0.99 * n) - 1 };
  let best;
  for (let k = 0; k < n; k++) {
    const next = k + 1 < n ? phases[k + 1] : phases[0] + periodMs;
    if (next - phases[k] < periodMs - maxMs - 1e-9) continue; // another tick would be later
    const phase = modulo(phases[k] - maxMs, periodMs);
    const start = lowerBound(phases, phase);
    const latenessUsAt = (rank) => modulo(phases[(start + rank) % n] - phase, periodMs) * 1000;
    const error = Math.max(
      relativeError(latenessUsAt(ranks.p50), jitterUs.p50, kFloorUs.p50),
      relativeError(latenessUsAt(ranks.p99), jitterUs.p99, kFloorUs.p99),
    );
    if (error <= kRelativeTolerance && (best === undefined || error < best.error)) {
      best = { phase, error };
    }
  }
  return best?.phase;
}

/** The phase at a tick's own phase that minimises the mean lateness (see recoverLateness). */
function minimumMeanPhase(phases, periodMs) {
  // Mean lateness with the grid at phases[j] is (sum(phases) − n × phases[j] + j × period) / n.
  let bestPhase = 0;
  let bestScore = Infinity;
  phases.forEach((phase, j) => {
    const score = j * periodMs - phases.length * phase;
    if (score < bestScore) [bestScore, bestPhase] = [score, phase];
  });
  return bestPhase;
}

function relativeError(value, reference, floor) {
  return Math.abs(value - reference) / Math.max(reference, floor);
}

/** The first index of ascending `sorted` whose value is >= `value` (sorted.length if none). */
function lowerBound(sorted, value) {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle] < value) low = middle + 1;
    else high = middle;
  }
  return low;
}

function modulo(value, period) {
  const rest = value % period;
  return rest < 0 ? rest + period : rest;
}
