// How one scenario is measured: the 1 kHz loop runs for a warm-up, then for the measured
// window, while a load (none, the work inline, the work on a keel Pool) is driven from the
// loop's own ticks at 100 Hz, as a controller calls its policy.

import { monitorEventLoopDelay } from 'node:perf_hooks';
import { startLoop } from './loop.mjs';

const kLoopPeriodMs = 1; // 1 kHz control loop
const kWorkPeriodMs = 10; // the 5 ms work is called at 100 Hz
const kDelaySamplingMs = 1; // monitorEventLoopDelay's resolution
const kNsPerMs = 1e6;

/**
 * Run the loop for `warmupMs` + `seconds`, measuring only the second part.
 * @returns tick and event-loop-delay figures for the window, plus what the load reports.
 */
export async function runScenario({ seconds, warmupMs, load }) {
  const expectedTicks = Math.round((seconds * 1000) / kLoopPeriodMs);
  const latenessUs = new Float64Array(expectedTicks);
  let ticks = 0;
  let measuring = false;
  const windowStartMs = performance.now() + warmupMs;
  const windowEndMs = windowStartMs + expectedTicks * kLoopPeriodMs;
  const delay = monitorEventLoopDelay({ resolution: kDelaySamplingMs });
  delay.enable();
  await new Promise((resolve) => {
    const loop = startLoop({
      hz: 1000 / kLoopPeriodMs,
      onTick({ deadlineMs, nowMs, latenessMs }) {
        if (deadlineMs >= windowEndMs) return void loop.stop().then(resolve);
        if (!measuring && deadlineMs >= windowStartMs) {
          measuring = true;
          delay.reset();
        }
        if (measuring && ticks < expectedTicks) latenessUs[ticks++] = latenessMs * 1000;
        load.onTick(nowMs, measuring);
      },
    });
  });
  delay.disable();
  return {
    ticks: { expected: expectedTicks, got: ticks },
    tickLatenessUs: summarize(latenessUs.subarray(0, ticks)),
    eventLoopDelayMs: summarizeDelay(delay),
    ...(await load.finish(Math.round((seconds * 1000) / kWorkPeriodMs))),
  };
}

/** No load: the loop alone. */
export function idleLoad() {
  return { onTick() {}, finish: async () => ({}) };
}

/** The work called synchronously inside the tick, on the main thread. */
export function inlineLoad({ forward, observations }) {
  const isDue = rateGate(kWorkPeriodMs);
  const durationsMs = [];
  return {
    onTick(nowMs, measuring) {
      if (!isDue(nowMs)) return;
      const startMs = performance.now();
      forward(observations);
      if (measuring) durationsMs.push(performance.now() - startMs);
    },
    finish: async (expectedCalls) => ({
      calls: { expected: expectedCalls, got: durationsMs.length },
      inlineCallMs: summarize(durationsMs),
    }),
  };
}

/**
 * The work sent to a keel Pool from the tick; the tick does not wait for it. At most one call
 * is in flight: when the previous answer has not arrived by the next 10 ms slot, that slot is
 * skipped (counted), as a controller would keep its last action rather than queue stale work.
 */
export function poolLoad({ pool, moduleUrl, observations }) {
  const isDue = rateGate(kWorkPeriodMs);
  const latenciesMs = [];
  let skippedBusy = 0;
  let inFlight = null;
  let firstError = null;
  function send(measuring) {
    const startMs = performance.now();
    inFlight = pool.run(moduleUrl, 'forward', [observations]).then(
      () => measuring && latenciesMs.push(performance.now() - startMs),
      (error) => (firstError ??= error),
    );
    void inFlight.finally(() => (inFlight = null));
  }
  return {
    onTick(nowMs, measuring) {
      if (!isDue(nowMs)) return;
      if (inFlight === null) send(measuring);
      else if (measuring) skippedBusy += 1;
    },
    async finish(expectedCalls) {
      await inFlight;
      return {
        calls: { expected: expectedCalls, got: latenciesMs.length, skippedBusy },
        offloadedCallMs: summarize(latenciesMs),
        poolStats: pool.stats(),
        ...(firstError && { error: firstError }),
      };
    },
  };
}

/**
 * Size the work so that one call takes about `targetMs` on this machine, once V8 has
 * optimised it (about 15 calls). Sizing uses the fastest of several runs: other programs can
 * only add time to a run (preemption), so the minimum is the steadiest estimate of the cost.
 * Returns forward, the batch size, its observations and the median time of a call.
 */
export function calibrateWork({ forward, makeObservations }, targetMs) {
  const probe = makeObservations(8);
  const warmEndMs = performance.now() + 250;
  while (performance.now() < warmEndMs) forward(probe);
  let batch = Math.max(1, Math.round((targetMs * 8) / fastestMs(() => forward(probe), 15)));
  // Once more at the real size: the cost per sample is not exactly linear in the batch.
  const first = makeObservations(batch);
  batch = Math.max(1, Math.round((batch * targetMs) / fastestMs(() => forward(first), 9)));
  const observations = makeObservations(batch);
  const calibratedMs = summarize(timesMs(() => forward(observations), 9)).p50;
  return { forward, batch, observations, calibratedMs };
}

/** `calls` calls, one after the other: lets V8 optimise the work in the worker too. */
export async function warmPool({ pool, moduleUrl, observations }, calls) {
  for (let i = 0; i < calls; i++) await pool.run(moduleUrl, 'forward', [observations]);
}

/** A 100 Hz (or any) schedule read from the ticks: true when a slot is due. */
function rateGate(periodMs) {
  let nextDueMs = null;
  return (nowMs) => {
    if (nextDueMs !== null && nowMs < nextDueMs) return false;
    // The next slot is the first one still ahead: slots that passed while busy are dropped.
    const behind = nextDueMs === null ? 0 : Math.floor((nowMs - nextDueMs) / periodMs);
    nextDueMs = (nextDueMs ?? nowMs) + (behind + 1) * periodMs;
    return true;
  };
}

function timesMs(fn, runs) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const startMs = performance.now();
    fn();
    times.push(performance.now() - startMs);
  }
  return times;
}

function fastestMs(fn, runs) {
  return Math.min(...timesMs(fn, runs));
}

/** Nearest-rank p50 / p99 / max; null for no samples. */
function summarize(values) {
  if (values.length === 0) return null;
  const sorted = Float64Array.from(values).sort();
  const rank = (p) => sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
  return { p50: rank(50), p99: rank(99), max: sorted[sorted.length - 1], n: sorted.length };
}

/**
 * monitorEventLoopDelay records the time between two firings of its 1 ms timer, so an idle
 * loop reads about 1 ms. The delay is what exceeds that period (never below 0); raw values
 * are kept for the JSON output.
 */
function summarizeDelay(histogram) {
  if (histogram.count === 0) return null;
  const rawMs = (p) => histogram.percentile(p) / kNsPerMs;
  const excess = (ms) => Math.max(0, ms - kDelaySamplingMs);
  const raw = { p50: rawMs(50), p99: rawMs(99), max: histogram.max / kNsPerMs };
  return {
    p50: excess(raw.p50),
    p99: excess(raw.p99),
    max: excess(raw.max),
    raw,
    samples: histogram.count,
  };
}
