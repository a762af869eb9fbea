// The offloaded half of the scene: whatever carries the policy and the camera's frames while the
// 1 kHz loop runs (scenarios 2 and 3). A rig is an object with:
//   slots              createSlots(): the SharedObjects a loop on a worker reads and writes
//   frame              the latest camera frame as the main thread reads it, with a SharedObject's
//                      `modified` and `fetch(fn)`; null without a camera
//   act(observation)   the policy: its action, or a promise of it; null without a policy
//   routeFramesTo(slot) optional, for frames that reach the main thread as messages: copy each
//                      new one into `slot` (a loop on a worker reads it there); null stops
//   close()            ends the workers and removes the slots
// startRig() builds keel's: both in spawned worker threads, frames through a SharedObject.
// bench/cells/headline.mjs builds others (piscina, comlink, postMessage frames, inline).

import { close, scheduling, spawn } from '../keel.mjs';
import { makeObservations } from '../workloads/policy.mjs';
import { kCameraHz } from './rates.mjs';
import { createSlots, kSlotNames } from './slots.mjs';
import { summarize } from './timing.mjs';

const kPolicyUrl = new URL('../workloads/policy.mjs', import.meta.url);
const kCameraUrl = new URL('./camera.mjs', import.meta.url);
export const kPolicyWarmupCalls = 20; // lets V8 optimise forward() in the policy's worker too
const kCloseTimeoutMs = 2000; // then close() ends the worker by force

/**
 * keel's rig: creates the slots, spawns the policy (`makePolicy({ batch })`) and the camera,
 * warms the policy up and starts the camera. `policyScheduling`: the policy worker's
 * `priority` options (scenario 4 runs it at 'background').
 */
export async function startRig({ batch, seconds, policyScheduling = {} }) {
  const slots = createSlots({ seconds });
  const remotes = [];
  const closeAll = async () => {
    const closing = remotes.map((remote) => close(remote, { timeoutMs: kCloseTimeoutMs }));
    await Promise.allSettled(closing);
    slots.close();
  };
  try {
    const policyOptions = { kind: 'thread', ...policyScheduling };
    const policy = await spawn(kPolicyUrl, 'makePolicy', [{ batch }], policyOptions);
    remotes.push(policy);
    const cameraOptions = { slot: kSlotNames.frame, hz: kCameraHz };
    const camera = await spawn(kCameraUrl, 'makeCamera', [cameraOptions]);
    remotes.push(camera);
    await warmUp((observation) => policy.act(observation));
    await camera.start();
    return {
      slots,
      frame: slots.frame,
      act: (observation) => policy.act(observation),
      /** What the OS applied to the policy's worker (undefined when no priority was asked). */
      policyScheduling: scheduling(policy),
      async close() {
        try {
          await camera.stop();
        } finally {
          await closeAll();
        }
      },
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/** kPolicyWarmupCalls calls of `act`, one after the other. */
export async function warmUp(act) {
  const observation = makeObservations(1);
  for (let i = 0; i < kPolicyWarmupCalls; i++) await act(observation);
}

/**
 * Asks the policy without waiting for it, at most one call in flight: `ask()` while the
 * previous answer is missing skips the call and counts it (a controller keeps its last action
 * rather than queue stale requests). An `act` that answers synchronously (inline) runs inside
 * ask(), blocking its caller as long. `settle()` waits for the last call and reports.
 */
export function askOneAtATime(act) {
  const latenciesMs = [];
  let skipped = 0;
  let inFlight = null;
  let firstError = null;
  return {
    ask(observation, onAnswer) {
      if (inFlight !== null) return void skipped++;
      const startMs = performance.now();
      let answer;
      try {
        answer = act(observation);
      } catch (error) {
        answer = Promise.reject(error);
      }
      inFlight = Promise.resolve(answer)
        .then(
          (action) => {
            latenciesMs.push(performance.now() - startMs);
            onAnswer(action);
          },
          (error) => (firstError ??= error),
        )
        .finally(() => (inFlight = null));
    },
    async settle() {
      await inFlight;
      const callMs = summarize(latenciesMs);
      return { calls: latenciesMs.length, skipped, callMs, error: firstError };
    },
  };
}
