// The four ways the demo runs the scene, each for `seconds`, one after the other:
//   1. inline:   the 1 kHz loop on the main thread does everything itself: it calls the policy
//                (5 ms) every 10 ms and renders the camera's frame every 1/60 s;
//   2. main:     the loop stays on the main thread; the policy runs in a spawned worker (asked
//                without waiting), the camera in another, its frames read from a SharedObject;
//   3. worker:   the loop runs on its own worker (RealtimeLoop.inWorker); the main thread only
//                relays observations to the policy and actions back, 100 times a second.
//   4. realtime: as 3, with the loop's worker at priority 'realtime' (SCHED_FIFO) sleeping
//                between ticks (the default spinUs), and the policy's at 'background'
//                (SCHED_IDLE). Where the OS refuses (or keel's native layer is missing) it
//                runs at normal priority and the row says so.
// Each returns the loop's stats(), its tick times (for the histograms), the main thread's
// event-loop delay (monitorLoop) over the same window, and what the policy and camera did.
// runLoopOnMain and runLoopInWorker take any rig (see rig.mjs): bench/cells/headline.mjs runs
// them with piscina, comlink, postMessage frames and inline rigs.

import { monitorLoop, nativeStatus, RealtimeLoop } from '../keel.mjs';
import { makePolicy } from '../workloads/policy.mjs';
import { kFrameBytes, makeRenderer } from './frames.mjs';
import { Controller } from './robot.mjs';
import { kCameraHz, kLoopHz, kPolicyHz } from './rates.mjs';
import { askOneAtATime, startRig } from './rig.mjs';
import { rateGate, sleepMs, summarize, tickCapacity, TickRecorder } from './timing.mjs';

const kControlTickUrl = new URL('./control-tick.mjs', import.meta.url);
const kBlockMs = 1; // monitorLoop: a delay of more than 1 ms (one control period) is a block
const kDumpTimeoutMs = 5000;

/**
 * Scenario 3's loop watches the clock for its whole period instead of sleeping in Atomics.wait
 * until 0.2 ms before each deadline (the default): it keeps its CPU, as the main thread's loop
 * of scenario 2 does. On a 2-CPU machine where the policy and the camera also run, a sleeping
 * loop thread wakes late: its p99 grew from 1-2 µs to 230-330 µs when measured.
 */
export const kWorkerLoopSpinUs = 1000;

export const kScenarios = [
  { key: 'inline', label: '1 inline', run: runInline },
  { key: 'main', label: '2 keel, loop on main', run: withKeelRig(runLoopOnMain) },
  {
    key: 'worker',
    label: '3 keel, loop in worker',
    run: withKeelRig((rig, options) =>
      runLoopInWorker(rig, { ...options, spinUs: kWorkerLoopSpinUs }),
    ),
  },
  { key: 'realtime', label: '4 keel, realtime loop in worker', run: runRealtime },
];

/**
 * Scenario 4: scenario 3's scene with scheduling classes instead of a spinning loop: the loop's
 * worker realtime (sleeping until 0.2 ms before each deadline), the policy's background. A
 * refusal never fails the demo: `priorityFallback: 'normal'` runs it anyway, and `scheduling`
 * says what the OS applied (the row shows it).
 */
async function runRealtime(options) {
  const status = nativeStatus();
  const scheduling = status.features.scheduling
    ? { priority: 'realtime', priorityFallback: 'normal' }
    : {};
  const policyScheduling = status.features.scheduling
    ? { priority: 'background', priorityFallback: 'normal' }
    : {};
  const rig = await startRig({ ...options, policyScheduling });
  try {
    const result = await runLoopInWorker(rig, { ...options, scheduling });
    const unsupported = status.features.scheduling
      ? undefined
      : `priority needs keel's native layer (${status.reason ?? 'its build lacks scheduling'}): ran at normal priority`;
    const refused = unsupported !== undefined || result.scheduling?.fallback === true;
    return {
      ...result,
      ...(refused && { label: '4 keel, loop in worker (realtime refused: normal priority)' }),
      schedulingNote: unsupported ?? schedulingNote(result.scheduling, rig.policyScheduling),
    };
  } finally {
    await rig.close();
  }
}

/** What the row says of the loop's and the policy's threads: applied, or refused and why. */
function schedulingNote(loop, policy) {
  if (!loop) return undefined;
  const loopNote = loop.fallback
    ? `the OS refused priority 'realtime', the loop ran at normal priority: ${loop.reason}`
    : `loop thread SCHED_FIFO ${loop.priority}`;
  return `${loopNote}; policy thread ${policyNote(policy)}`;
}

function policyNote(report) {
  if (!report) return 'at normal priority';
  if (report.policy === 'idle') return 'SCHED_IDLE';
  return `${report.policy} at nice ${report.nice} (${report.reason ?? 'SCHED_IDLE refused'})`;
}

/** Scenario 1: the policy and the camera inside the loop's ticks, on the main thread. */
async function runInline({ seconds, batch }) {
  const policy = makePolicy({ batch });
  const controller = new Controller();
  const recorder = new TickRecorder(tickCapacity(seconds));
  const render = makeRenderer();
  const frame = new Uint8Array(kFrameBytes);
  const [cameraDue, policyDue] = [rateGate(1000 / kCameraHz), rateGate(1000 / kPolicyHz)];
  const callsMs = [];
  let published = 0; // frames rendered, which is also the next frame's index
  const loop = new RealtimeLoop({
    hz: kLoopHz,
    tick(nowMs) {
      recorder.record(nowMs);
      if (cameraDue(nowMs)) {
        render(frame, nowMs / 1000, published++);
        controller.see(frame);
      }
      if (policyDue(nowMs)) {
        const startMs = performance.now();
        controller.setTargets(policy.act(controller.observe()));
        callsMs.push(performance.now() - startMs);
      }
      controller.step(1 / kLoopHz);
    },
  });
  const measured = await measureLoopOnMain(loop, seconds);
  return {
    ...figures(measured, recorder.freeze(), seconds),
    policy: { where: 'inline', calls: callsMs.length, skipped: 0, callMs: summarize(callsMs) },
    camera: cameraFigures(controller),
  };
}

/**
 * Scenario 2: the loop on the main thread. Each tick looks at the latest frame when there is a
 * new one, asks the policy every 10 ms without waiting (at most one call in flight), and steps.
 */
export async function runLoopOnMain(rig, { seconds }) {
  const { slots, frame } = rig;
  const controller = new Controller();
  const recorder = new TickRecorder(tickCapacity(seconds));
  const policyDue = rateGate(1000 / kPolicyHz);
  const asker = rig.act && askOneAtATime(rig.act);
  const setTargets = (action) => controller.setTargets(action);
  const loop = new RealtimeLoop({
    hz: kLoopHz,
    tick(nowMs) {
      recorder.record(nowMs);
      // fetch(fn) runs the vision on a consistent view of the latest frame: no copy.
      if (frame?.modified) frame.fetch((image) => controller.see(image));
      if (asker && policyDue(nowMs)) asker.ask(controller.observe(), setTargets);
      slots.command.assign(controller.step(1 / kLoopHz));
    },
  });
  const measured = await measureLoopOnMain(loop, seconds);
  const { error, ...calls } = asker ? await asker.settle() : noCalls();
  return {
    ...figures(measured, recorder.freeze(), seconds),
    policy: { where: 'worker', ...calls },
    camera: cameraFigures(controller),
    ...(error && { error }),
  };
}

/**
 * Scenario 3: the loop on its own worker (control-tick.mjs), talking through the rig's slots;
 * the main thread relays observations to the policy and actions back. `spinUs` is the loop's
 * (RealtimeLoop's default for a worker when undefined: 200); `scheduling` its `priority`,
 * `rtPriority`, `cpus` and `priorityFallback` options (none by default).
 */
export async function runLoopInWorker(rig, { seconds, spinUs, scheduling = {} }) {
  const relay = startPolicyRelay(rig);
  rig.routeFramesTo?.(rig.slots.frame);
  const loopOptions = { hz: kLoopHz, ...(spinUs !== undefined && { spinUs }), ...scheduling };
  const loop = await RealtimeLoop.inWorker(kControlTickUrl, 'tick', loopOptions);
  const monitor = monitorLoop({ blockMs: kBlockMs });
  let ticks;
  let report;
  try {
    relay.start();
    await sleepMs(seconds * 1000);
    report = await relay.stop();
    ticks = await collectTicks(rig.slots);
  } finally {
    monitor.stop();
    report = await relay.stop();
    await loop.stop();
    rig.routeFramesTo?.(null);
  }
  const { error, ...calls } = report;
  return {
    ...figures({ loop: loop.stats(), monitor: monitor.stats() }, ticks.timesMs, seconds),
    policy: { where: 'worker', ...calls },
    camera: cameraFigures(ticks),
    scheduling: loop.scheduling(),
    ...(error && { error }),
  };
}

/** A scenario run with keel's rig (rig.mjs), ended whatever happens. */
function withKeelRig(run) {
  return async (options) => {
    const rig = await startRig(options);
    try {
      return await run(rig, options);
    } finally {
      await rig.close();
    }
  };
}

/**
 * The main thread's share of scenario 3: 100 times a second (a RealtimeLoop of its own, timer
 * driven), the latest observation goes to the policy and its answer to the action slot. The
 * tick awaits the answer, so at most one call is in flight; a late answer makes the next slot
 * count as missed. stop() never rejects: it reports, with the first error if any.
 */
function startPolicyRelay({ slots, act }) {
  if (!act) return { start() {}, stop: async () => noCalls() };
  const latenciesMs = [];
  let firstError = null;
  const relay = new RealtimeLoop({
    hz: kPolicyHz,
    spinUs: 0,
    async tick() {
      const startMs = performance.now();
      slots.action.assign(await act(slots.observation.fetch()));
      latenciesMs.push(performance.now() - startMs);
    },
    onError: (error) => (firstError ??= error),
  });
  return {
    start: () => relay.start(),
    async stop() {
      await relay.stop().catch(() => undefined); // its error, if any, is firstError
      const { missed } = relay.stats();
      const callMs = summarize(latenciesMs);
      return { calls: latenciesMs.length, skipped: missed, callMs, error: firstError };
    },
  };
}

function noCalls() {
  return { calls: 0, skipped: 0, callMs: null, error: null };
}

/** Asks the loop's worker for its tick times (the dump trigger) and waits for them. */
async function collectTicks(slots) {
  const published = slots.ticks.changed({ timeoutMs: kDumpTimeoutMs });
  slots.dump.trigger();
  await published;
  const ticks = slots.ticks.fetch();
  return { ...ticks, timesMs: ticks.timesMs.subarray(0, ticks.count) };
}

/** Runs a main-thread loop for `seconds` under monitorLoop; returns both stats. */
async function measureLoopOnMain(loop, seconds) {
  const monitor = monitorLoop({ blockMs: kBlockMs });
  try {
    loop.start();
    await sleepMs(seconds * 1000);
  } finally {
    monitor.stop();
    await loop.stop();
  }
  return { loop: loop.stats(), monitor: monitor.stats() };
}

/** What the loop's vision saw: published counts the camera's frames from its first to its last. */
function cameraFigures({ framesSeen, framesSpanned, ballsFound }) {
  return { published: framesSpanned, seen: framesSeen, ballsFound };
}

/** due: every deadline of the loop's life, the ticks it ran and those it missed. */
function figures({ loop, monitor }, timesMs, seconds) {
  return {
    loop: { due: loop.ticks + loop.missed, ...loop },
    eventLoop: monitor,
    timesMs,
    expectedPolicyCalls: Math.round(seconds * kPolicyHz),
    expectedFrames: Math.round(seconds * kCameraHz),
  };
}
