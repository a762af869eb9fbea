// Scenario headline: the demo's robot scene (demo/scene/), measured the way SPEC §6's real-time
// bar reads. A 1 kHz control loop, a policy of ~5 ms (the demo's MLP, calibrated at start) asked
// 100 times a second, 1.2 MB camera frames at 60 Hz. One condition (--lib) per process:
//   idle                   the loops alone: no policy, no camera
//   inline                 the policy called on the main thread; frames through a SharedObject
//   keel, piscina, comlink the policy offloaded through keel's spawn (thread), a 1-thread
//                          piscina, or comlink (Node adapter); frames through a SharedObject
//                          written by a keel camera worker
//   keel-pool              the policy as a task of a 1-thread keel Pool (SPEC §6's wording)
//   <lib>-postmessage      the same policy path; frames posted by a plain worker (clone)
//   keel-busy              keel's scene plus three busy threads (plain workers computing
//                          without pause, normal priority): more runnable threads than CPUs
//   keel-realtime          the same load with scheduling classes (SPEC §8): the loop's worker
//                          at priority 'realtime' (SCHED_FIFO 80); the policy and the three
//                          busy threads (here the threads of a keel Pool) at 'background'
//                          (SCHED_IDLE), as docs/realtime.md advises for batch work; a refusal
//                          by the OS fails the cell (no fallback)
// Three phases of --seconds each, in this order, with the policy and the camera running, each
// with monitorLoop on the main thread:
//   main:   a RealtimeLoop at 1 kHz on the main thread (demo scenario 2; metrics mainLoop*,
//           mainPhaseEld*);
//   worker: RealtimeLoop.inWorker at 1 kHz with its default spinUs (200: it sleeps in
//           Atomics.wait until 0.2 ms before each deadline); the main thread relays
//           observations to the policy and actions back at 100 Hz (and, for postMessage frames,
//           copies each received frame into the SharedObject the loop reads). Metrics
//           workerLoop*, and eld*: the "main-thread event-loop delay" of SPEC §6's bar;
//   spin:   the same with spinUs 1000: the loop's worker never sleeps, it keeps its CPU (demo
//           scenario 3; metrics spinLoop*, spinPhaseEld*).
//   node bench/cells/headline.mjs --lib=keel [--quick] [--seconds=N]
import { Worker } from 'node:worker_threads';

import { installedVersion } from '../adapters/pools.mjs';
import { parseFlags, runCell, startMeter } from '../lib/measure.mjs';

const kFixture = new URL('../fixtures/headline.mjs', import.meta.url);
const kDemo = new URL('../../demo/', import.meta.url);
const kTargetPolicyMs = 5;

const kConditions = {
  idle: { policy: null, frames: null },
  inline: { policy: 'inline', frames: 'shared-object' },
  keel: { policy: 'keel', frames: 'shared-object' },
  'keel-postmessage': { policy: 'keel', frames: 'postmessage' },
  'keel-pool': { policy: 'keel-pool', frames: 'shared-object' },
  piscina: { policy: 'piscina', frames: 'shared-object' },
  'piscina-postmessage': { policy: 'piscina', frames: 'postmessage' },
  comlink: { policy: 'comlink', frames: 'shared-object' },
  'comlink-postmessage': { policy: 'comlink', frames: 'postmessage' },
  'keel-busy': { policy: 'keel', frames: 'shared-object', busyThreads: 3 },
  'keel-realtime': {
    policy: 'keel-background',
    frames: 'shared-object',
    busyThreads: 3,
    busyPriority: 'background',
    loopScheduling: { priority: 'realtime' },
  },
};

const flags = parseFlags();
const lib = String(flags.lib);
const seconds = Number(flags.seconds ?? (flags.quick ? 1 : 5));

runCell({ scenario: 'headline', lib }, async () => {
  const condition = kConditions[lib];
  if (condition === undefined) throw new Error(`unknown --lib=${lib}`);
  if (!(seconds > 0)) throw new Error(`--seconds must be a positive number, got ${flags.seconds}`);
  const demo = await loadDemo();
  const policy = demo.calibratePolicy(kTargetPolicyMs);
  const rig = await startRig(demo, condition, policy.batch);
  try {
    const scheduling = condition.loopScheduling ?? {};
    const main = await measurePhase(() => demo.runLoopOnMain(rig, { seconds }));
    const worker = await measurePhase(() => demo.runLoopInWorker(rig, { seconds, scheduling }));
    const spinning = await measurePhase(() =>
      demo.runLoopInWorker(rig, { seconds, spinUs: demo.kWorkerLoopSpinUs, scheduling }),
    );
    return {
      version: rig.version,
      settings: `${rig.settings}${loopSchedulingText(condition, worker.scheduling)}`,
      params: { seconds, loopHz: 1000, policyHz: 100, cameraHz: 60, frameBytes: 480 * 848 * 3 },
      metrics: {
        ...phaseMetrics('mainLoop', 'mainPhaseEld', main, demo),
        ...phaseMetrics('workerLoop', 'eld', worker, demo),
        ...phaseMetrics('spinLoop', 'spinPhaseEld', spinning, demo),
        batch: policy.batch,
        calibratedMs: policy.calibratedMs,
      },
    };
  } finally {
    await rig.close();
  }
});

/** The inWorker loop's options and what the OS applied to its thread, for the settings line. */
function loopSchedulingText(condition, report) {
  if (condition.loopScheduling === undefined) return '';
  const applied = report ? `${report.policy} ${report.priority}` : 'nothing reported';
  return `; inWorker loop: ${JSON.stringify(condition.loopScheduling)} (applied: ${applied})`;
}

/** The demo's scene modules (they import keel from dist/: the build must exist). */
async function loadDemo() {
  const modules = await Promise.all(
    [
      'keel.mjs',
      'scene/scenarios.mjs',
      'scene/calibrate.mjs',
      'scene/rig.mjs',
      'scene/slots.mjs',
      'scene/timing.mjs',
      'workloads/policy.mjs',
    ].map((path) => import(new URL(path, kDemo).href)),
  );
  return Object.assign({}, ...modules);
}

/** One phase, with the process's CPU time (all threads) beside it. */
async function measurePhase(run) {
  const meter = startMeter();
  const result = await run();
  const usage = meter.stop();
  if (result.error) throw result.error;
  return { ...result, cpuCores: usage.cpuUs / 1000 / usage.wallMs };
}

/** Flat metrics of one phase: loop jitter, missed ticks and gaps, event-loop delay, policy. */
function phaseMetrics(loopKey, eldKey, phase, demo) {
  const { loop, eventLoop, policy, camera, timesMs } = phase;
  const delayUs = (ms) => (typeof ms === 'number' ? ms * 1000 : null);
  return {
    [`${loopKey}P50Us`]: loop.jitterUs.p50,
    [`${loopKey}P99Us`]: loop.jitterUs.p99,
    [`${loopKey}MaxUs`]: loop.jitterUs.max,
    [`${loopKey}Ticks`]: loop.ticks,
    [`${loopKey}Missed`]: loop.missed,
    [`${loopKey}GapMs`]: demo.longestGapMs(timesMs),
    [`${eldKey}P50Us`]: delayUs(eventLoop.delayMs.p50),
    [`${eldKey}P99Us`]: delayUs(eventLoop.delayMs.p99),
    [`${eldKey}MaxUs`]: delayUs(eventLoop.delayMs.max),
    [`${loopKey}PolicyCalls`]: policy.calls,
    [`${loopKey}PolicyP50Ms`]: policy.callMs?.p50 ?? null,
    [`${loopKey}FramesSeen`]: camera.seen,
    [`${loopKey}FramesPublished`]: camera.published,
    [`${loopKey}CpuCores`]: phase.cpuCores,
  };
}

/**
 * The condition's rig (see demo/scene/rig.mjs for the shape): the slots, the policy adapter
 * (warmed up) and the frame source, with the settings line for the table.
 */
async function startRig(demo, condition, batch) {
  const slots = demo.createSlots({ seconds });
  const closers = [async () => slots.close()];
  const close = async () => {
    for (const closer of closers.reverse()) await closer().catch(() => undefined);
  };
  try {
    const policy = condition.policy && (await kPolicies[condition.policy](demo, batch));
    if (policy) closers.push(policy.close);
    if (policy) await demo.warmUp(policy.act);
    const camera = condition.frames && (await kCameras[condition.frames](demo, slots));
    if (camera) closers.push(camera.close);
    const busy = condition.busyThreads && (await startBusy(demo, condition));
    if (busy) closers.push(busy.close);
    const busyText = busy ? `; ${busy.settings}` : '';
    return {
      slots,
      frame: camera?.frame ?? null,
      act: policy?.act ?? null,
      routeFramesTo: camera?.routeFramesTo,
      close,
      settings: `policy: ${policy?.settings ?? 'none'}; frames: ${camera?.settings ?? 'none'}${busyText}`,
      version: policy?.version ?? installedVersion('keel'),
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * The condition's busy threads, started: plain workers at normal priority (load keel does not
 * own), or the threads of a keel Pool at `busyPriority` (batch work the user gave keel).
 */
async function startBusy(demo, condition) {
  const count = condition.busyThreads;
  if (condition.busyPriority === undefined) {
    const busy = await startBusyThreads(count);
    return { ...busy, settings: `${count} busy threads (plain workers, normal priority)` };
  }
  const priority = condition.busyPriority;
  const pool = new demo.Pool({ minThreads: count, maxThreads: count, priority });
  const stopped = new Int32Array(new SharedArrayBuffer(4));
  Atomics.store(stopped, 0, 1);
  await pool.run(kFixture, 'burn', [stopped]); // a thread has started: scheduling() reports it
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const runs = Array.from({ length: count }, () => pool.run(kFixture, 'burn', [stop]));
  const close = async () => {
    Atomics.store(stop, 0, 1);
    await Promise.allSettled(runs);
    await pool.close();
  };
  const [applied] = pool.scheduling();
  const appliedText = applied ? `${applied.policy} nice ${applied.nice}` : 'nothing reported';
  return {
    close,
    settings: `${count} busy threads (a keel Pool, priority '${priority}', applied: ${appliedText})`,
  };
}

/** `count` plain workers that compute without pause (the fixture's 'busy' role), started. */
async function startBusyThreads(count) {
  const workers = Array.from(
    { length: count },
    () => new Worker(kFixture, { workerData: { headlineRole: 'busy' } }),
  );
  const started = (worker) =>
    new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
  const close = () => Promise.all(workers.map((worker) => worker.terminate()));
  try {
    await Promise.all(workers.map(started));
  } catch (error) {
    await close();
    throw error;
  }
  return { close };
}

/** How the policy is carried: each returns { act, close, settings, version }. */
const kPolicies = {
  async inline(demo, batch) {
    const policy = demo.makePolicy({ batch });
    return {
      act: (observation) => policy.act(observation),
      close: async () => undefined,
      settings: 'policy.act(observation) on the main thread',
      version: process.version,
    };
  },
  async keel(demo, batch) {
    const url = new URL('workloads/policy.mjs', kDemo);
    const remote = await demo.spawn(url, 'makePolicy', [{ batch }], { kind: 'thread' });
    return {
      act: (observation) => remote.act(observation),
      close: () => demo.close(remote, { timeoutMs: 2000 }),
      settings:
        "spawn(url, 'makePolicy', [{ batch }], { kind: 'thread' }), remote.act(observation)",
      version: installedVersion('keel'),
    };
  },
  async 'keel-background'(demo, batch) {
    const url = new URL('workloads/policy.mjs', kDemo);
    const options = { kind: 'thread', priority: 'background' };
    const remote = await demo.spawn(url, 'makePolicy', [{ batch }], options);
    const applied = demo.scheduling(remote);
    return {
      act: (observation) => remote.act(observation),
      close: () => demo.close(remote, { timeoutMs: 2000 }),
      settings: `spawn(url, 'makePolicy', [{ batch }], { kind: 'thread', priority: 'background' }) (applied: ${applied?.policy} nice ${applied?.nice}), remote.act(observation)`,
      version: installedVersion('keel'),
    };
  },
  async 'keel-pool'(demo, batch) {
    const pool = new demo.Pool({ minThreads: 1, maxThreads: 1 });
    return {
      act: (observation) => pool.run(kFixture, 'act', [{ observation, batch }]),
      close: () => pool.close(),
      settings:
        "new Pool({ minThreads: 1, maxThreads: 1 }), pool.run(url, 'act', [{ observation, batch }])",
      version: installedVersion('keel'),
    };
  },
  async piscina(_demo, batch) {
    const { Piscina } = await import('piscina');
    const pool = new Piscina({ filename: kFixture.href, minThreads: 1, maxThreads: 1 });
    return {
      act: (observation) => pool.run({ observation, batch }, { name: 'act' }),
      close: () => pool.destroy(),
      settings:
        "new Piscina({ minThreads: 1, maxThreads: 1 }) (atomics 'sync'), run({ observation, batch }, { name: 'act' })",
      version: installedVersion('piscina'),
    };
  },
  async comlink(_demo, batch) {
    const { wrap, releaseProxy } = await import('comlink/dist/esm/comlink.mjs');
    const { default: nodeEndpoint } = await import('comlink/dist/esm/node-adapter.mjs');
    const worker = new Worker(kFixture, { workerData: { headlineRole: 'comlink-policy', batch } });
    const api = wrap(nodeEndpoint(worker));
    return {
      act: (observation) => api.act(observation),
      async close() {
        api[releaseProxy]();
        await worker.terminate();
      },
      settings:
        'wrap(nodeEndpoint(new Worker(...))) exposing makePolicy({ batch }), api.act(observation)',
      version: installedVersion('comlink'),
    };
  },
};

/** How the frames reach the loop: each returns { frame, routeFramesTo?, close, settings }. */
const kCameras = {
  async 'shared-object'(demo, slots) {
    const url = new URL('scene/camera.mjs', kDemo);
    const camera = await demo.spawn(url, 'makeCamera', [{ slot: demo.kSlotNames.frame, hz: 60 }]);
    await camera.start();
    return {
      frame: slots.frame,
      async close() {
        await camera.stop().catch(() => undefined);
        await demo.close(camera, { timeoutMs: 2000 });
      },
      settings:
        'a spawned keel camera assigns each frame to a SharedObject; the loop reads frame.modified / frame.fetch(fn) (a view)',
    };
  },
  async postmessage() {
    const worker = new Worker(kFixture, { workerData: { headlineRole: 'camera', hz: 60 } });
    let latest = null;
    let received = 0;
    let seen = 0;
    let route = null;
    worker.on('message', (frame) => {
      latest = frame;
      received++;
      route?.assign(frame);
    });
    await new Promise((resolve) => worker.once('online', resolve));
    return {
      // The latest frame received, read like a SharedObject (`modified`, `fetch(fn)`).
      frame: {
        get modified() {
          return received !== seen;
        },
        fetch(fn) {
          seen = received;
          return fn(latest);
        },
      },
      routeFramesTo: (slot) => (route = slot),
      close: () => worker.terminate(),
      settings:
        'a plain worker posts each frame (structured clone); inWorker phase: the main thread copies it into the SharedObject the loop reads',
    };
  },
};
