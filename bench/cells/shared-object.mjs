// Scenario shared-object: SharedObject assign and fetch of a 1.2 MB frame (480x848x3 Uint8Array)
// and of a scalar, beside one memcpy of the frame. Each row (--lib) is one operation:
//   memcpy, slice                 the platform: target.set(frame) into a preallocated array, and
//                                 frame.slice() (allocation + copy, what any owned copy pays)
//   memcpy-cold                   target.set(frame) into one of 48 preallocated targets in turn
//                                 (59 MB, beyond the caches): a copy into memory not in cache,
//                                 which is what a freshly allocated result is
//   assign-frame, fetch-frame     cam.assign(frame), cam.fetch() (a consistent copy)
//   fetch-into-frame              cam.fetchInto(target): a consistent copy into the caller's array
//   fetch-frame-view              cam.fetch((v) => v[4096]): fn on a consistent view, no copy out
//   fetch-frame-contended         cam.fetch() while a worker assigns frames at full speed
//   fetch-into-frame-contended    cam.fetchInto(target) while a worker assigns frames at full speed
//   assign-scalar, fetch-scalar   a number slot
//   fetch-scalar-contended        fetch while a worker assigns numbers at full speed
//   fetch-into-frame-machine      cam.fetchInto(target) of a machine-scope slot (POSIX shared
//                                 memory, keel's native layer) that a child process assigned
//   fetch-into-frame-machine-contended  the same while the child assigns frames at full speed
// Frame rows time each operation alone. A scalar operation is below the timer's resolution:
// scalar rows time batches of 1,000 and report each batch's mean per operation (p50/p99 over
// batches). Every row also reports the process's minor page faults per operation over the
// measured phase: about 298 per frame when each allocation gets fresh pages from the kernel.
//   node bench/cells/shared-object.mjs --lib=fetch-frame [--quick]
import { spawn } from 'node:child_process';
import { Worker } from 'node:worker_threads';

import { loadKeel, sourcesNote } from '../adapters/keel.mjs';
import { installedVersion } from '../adapters/pools.mjs';
import { kFrameBytes, makeFrame } from '../fixtures/frame.mjs';
import { parseFlags, runCell, summarizeUs } from '../lib/measure.mjs';

const kBatch = 1_000;
const kColdTargets = 48;
const flags = parseFlags();
const lib = String(flags.lib);
const params = flags.quick
  ? { warmup: 50, ops: 300, scalarBatches: 50 }
  : { warmup: 200, ops: 2_000, scalarBatches: 400 };

/** Per row: what it times (a frame op or a scalar op), and a description for the settings line. */
const kRows = {
  memcpy: { frame: true, what: 'target.set(frame), preallocated target (one memcpy)' },
  'memcpy-cold': {
    frame: true,
    what: `targets[i % ${kColdTargets}].set(frame), ${kColdTargets} preallocated targets in turn (a copy into memory not in cache)`,
  },
  slice: { frame: true, what: 'frame.slice() (allocation + copy)' },
  'assign-frame': { frame: true, what: 'cam.assign(frame)' },
  'fetch-frame': { frame: true, what: 'cam.fetch() (a consistent copy)' },
  'fetch-into-frame': {
    frame: true,
    what: 'cam.fetchInto(target) (a consistent copy into a preallocated array)',
  },
  'fetch-frame-view': {
    frame: true,
    what: 'cam.fetch((v) => v[4096]) (a consistent view, no copy)',
  },
  'fetch-frame-contended': { frame: true, what: 'cam.fetch() while a worker assigns frames' },
  'fetch-into-frame-contended': {
    frame: true,
    what: 'cam.fetchInto(target) while a worker assigns frames',
  },
  'fetch-into-frame-machine': {
    frame: true,
    what: "cam.fetchInto(target) of a machine-scope slot ({ scope: 'machine' }) a child process assigned",
  },
  'fetch-into-frame-machine-contended': {
    frame: true,
    what: 'cam.fetchInto(target) of a machine-scope slot while a child process assigns frames',
  },
  'assign-scalar': { frame: false, what: 'slot.assign(i), a number' },
  'fetch-scalar': { frame: false, what: 'slot.fetch(), a number' },
  'fetch-scalar-contended': { frame: false, what: 'slot.fetch() while a worker assigns numbers' },
};

runCell({ scenario: 'shared-object', lib }, async () => {
  const row = kRows[lib];
  if (row === undefined) throw new Error(`unknown --lib=${lib}; rows: ${Object.keys(kRows)}`);
  const { keel, sources } = await loadKeel();
  if (keel.SharedObject === undefined) throw new Error('this keel build has no SharedObject');
  const frame = makeFrame();
  const machine = lib.includes('-machine');
  const name = machine ? `bench-camera-${process.pid}` : 'bench-camera';
  const slot = row.frame
    ? keel.SharedObject.create(name, frame, {
        shape: [480, 848, 3],
        ...(machine ? { scope: 'machine' } : {}),
      })
    : keel.SharedObject.create('bench-scalar', 1.5);
  const op = operation(lib, slot, frame);
  const contended = lib.endsWith('-contended');
  const writer = machine
    ? await startProcessWriter(name, contended ? 'assign-frames' : 'assign-once')
    : contended
      ? await startWriter(slot, row.frame)
      : undefined;
  const faultsBefore = process.resourceUsage().minorPageFault;
  const samplesUs = row.frame ? timeEach(op) : timeBatches(op);
  const faults = process.resourceUsage().minorPageFault - faultsBefore;
  const assignedMeanwhile = writer === undefined ? undefined : await writer.stop();
  if (machine) keel.SharedObject.unlink(name);
  const platform = lib.startsWith('memcpy') || lib === 'slice';
  return {
    version: platform ? process.version : installedVersion('keel'),
    settings: `${row.what}${row.frame ? '' : `, mean of batches of ${kBatch}`}${platform ? '' : sourcesNote(sources, ['SharedObject'])}`,
    params: { frameBytes: kFrameBytes, batch: row.frame ? 1 : kBatch, ...params },
    metrics: {
      ...summarizeUs(samplesUs),
      faultsPerOp: faults / (row.frame ? params.ops : params.scalarBatches * kBatch),
      ...(assignedMeanwhile === undefined ? {} : { writerAssigns: assignedMeanwhile }),
    },
  };
});

/** The timed operation of a row; each result feeds `sink`, so that none is optimised away. */
function operation(row, slot, frame) {
  const target = new Uint8Array(kFrameBytes);
  // Filled once, so that their pages exist before the measured copies.
  const coldTargets =
    row === 'memcpy-cold'
      ? Array.from({ length: kColdTargets }, () => new Uint8Array(kFrameBytes).fill(1))
      : [];
  let sink = 0;
  let i = 0;
  const ops = {
    memcpy: () => target.set(frame),
    'memcpy-cold': () => coldTargets[i++ % kColdTargets].set(frame),
    slice: () => (sink ^= frame.slice()[4096]),
    'assign-frame': () => slot.assign(frame),
    'fetch-frame': () => (sink ^= slot.fetch()[4096]),
    'fetch-into-frame': () => (sink ^= slot.fetchInto(target)[4096]),
    'fetch-into-frame-contended': () => (sink ^= slot.fetchInto(target)[4096]),
    'fetch-frame-view': () => (sink ^= slot.fetch((view) => view[4096])),
    'fetch-frame-contended': () => (sink ^= slot.fetch()[4096]),
    'fetch-into-frame-machine': () => (sink ^= slot.fetchInto(target)[4096]),
    'fetch-into-frame-machine-contended': () => (sink ^= slot.fetchInto(target)[4096]),
    'assign-scalar': () => slot.assign(i++),
    'fetch-scalar': () => (sink += slot.fetch()),
    'fetch-scalar-contended': () => (sink += slot.fetch()),
  };
  return ops[row];
}

/** Times `op` alone, params.ops times after warm-up; µs per call. */
function timeEach(op) {
  for (let i = 0; i < params.warmup; i++) op();
  const samplesUs = new Float64Array(params.ops);
  for (let i = 0; i < params.ops; i++) {
    const t0 = performance.now();
    op();
    samplesUs[i] = (performance.now() - t0) * 1000;
  }
  return samplesUs;
}

/** Times batches of kBatch calls after warm-up; each sample is a batch's mean µs per call. */
function timeBatches(op) {
  for (let i = 0; i < 20 * kBatch; i++) op();
  const samplesUs = new Float64Array(params.scalarBatches);
  for (let b = 0; b < params.scalarBatches; b++) {
    const t0 = performance.now();
    for (let i = 0; i < kBatch; i++) op();
    samplesUs[b] = ((performance.now() - t0) * 1000) / kBatch;
  }
  return samplesUs;
}

/** Starts a worker assigning to the same slot at full speed (it gets the handle as a clone). */
async function startWriter(slot, frame) {
  const stop = new SharedArrayBuffer(4);
  const worker = new Worker(new URL('../fixtures/shared-object-writer.mjs', import.meta.url), {
    workerData: { handle: slot, stop, frame },
  });
  const messages = [];
  let wake = () => {};
  worker.on('message', (message) => {
    messages.push(message);
    wake();
  });
  worker.on('error', (error) => console.error(error));
  const next = () =>
    messages.length > 0 ? messages.shift() : new Promise((r) => (wake = () => r(messages.shift())));
  await next(); // 'started'
  return {
    async stop() {
      Atomics.store(new Int32Array(stop), 0, 1);
      return next();
    },
  };
}

/**
 * Starts a child process that opens the machine-scope slot `name` and assigns to it ('assign-once':
 * one frame; 'assign-frames': at full speed until stopped). stop() resolves once it exited.
 */
async function startProcessWriter(name, mode) {
  const peer = new URL('../fixtures/shared-object-peer.mjs', import.meta.url);
  const child = spawn(process.execPath, [peer.pathname, JSON.stringify({ name, mode })], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  await new Promise((resolve, reject) => {
    child.stdout.once('data', resolve);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the writer process exited with code ${code}`)));
  });
  // Lets a single assign land before the measured fetches.
  await new Promise((resolve) => setTimeout(resolve, 100));
  return {
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin.end();
      await exited;
      return undefined;
    },
  };
}
