// Sizes the policy so that one act() takes about the target time on this machine.

import {
  forward,
  kActionSize,
  kHiddenSize,
  kObservationSize,
  makeObservations,
  makePolicy,
} from '../workloads/policy.mjs';
import { summarize } from './timing.mjs';

const kWarmupMs = 250; // about 15 calls: V8 has optimised forward() by then

/**
 * The batch that makes `makePolicy({ batch }).act()` take about `targetMs` once V8 has optimised
 * it, and the median time of a call at that batch. Sizing uses the fastest of several runs: other
 * programs can only add time to a run (preemption), so the minimum is the steadiest estimate.
 */
export function calibratePolicy(targetMs) {
  const probe = makeObservations(8);
  const warmEndMs = performance.now() + kWarmupMs;
  while (performance.now() < warmEndMs) forward(probe);
  let batch = Math.max(1, Math.round((targetMs * 8) / fastestMs(() => forward(probe), 15)));
  // Once more at the real size: the cost per sample is not exactly linear in the batch.
  const observation = makeObservations(1);
  const first = makePolicy({ batch });
  batch = Math.max(1, Math.round((batch * targetMs) / fastestMs(() => first.act(observation), 9)));
  const policy = makePolicy({ batch });
  const calibratedMs = summarize(timesMs(() => policy.act(observation), 9)).p50;
  return { batch, calibratedMs };
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

/** What the policy is, in a few words, for the report's header. */
export function describePolicy() {
  return `MLP ${kObservationSize}→${kHiddenSize}→${kHiddenSize}→${kActionSize} (float64) over a batch of candidates`;
}
