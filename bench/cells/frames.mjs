// Scenario frames: a 1.2 MB frame (480x848x3 Uint8Array) produced in a worker and received on
// the main thread, by structured clone, by transfer, through keel's Arena, and through piscina
// and comlink; the `memcpy` row is one Uint8Array#set of the frame on the main thread.
//   node bench/cells/frames.mjs --lib=keel-arena [--quick]
//
// Phase 1, one frame at a time (like a 60 Hz camera: each frame meets an idle loop):
//   - main µs/frame: the main thread's own on-CPU time (Linux schedstat) per frame received,
//     request and receipt included; eventLoopUtilization's active time is kept beside it
//     (mainEluUsPerFrame), and used where schedstat is missing;
//   - receive latency: from the worker's stamp (taken just before the frame is handed to its
//     transport, process.hrtime on both sides) to the frame in the caller's hands.
// Phase 2, frames back to back (4 requests in flight): GB/s streamed.
// keel-stream is a stream, not requests: iterateInWorker with an arena, `buffer: 4`; phase 1
// paces the worker's generator at one frame per kPacedIntervalMs (each frame meets an idle
// loop, like a camera), phase 2 lets it run free. The keel-stream-process rows run the same
// generator in a child process (`kind: 'process'`): through the arena (shared memory handed to
// the child at spawn, with keel's native layer), or without one (-pipe: copied over the
// channel, what a process cost before the native layer).
import { checkFrame, ageNs, kFrameBytes, makeFrame } from '../fixtures/frame.mjs';
import { loadKeel, sourcesNote } from '../adapters/keel.mjs';
import { installedVersion } from '../adapters/pools.mjs';
import { arenaStats, createRemote } from '../adapters/remotes.mjs';
import {
  parseFlags,
  runCell,
  startMeter,
  summarizeUs,
  timeSequential,
  withTimeout,
} from '../lib/measure.mjs';

const kInFlight = 4;
const kPacedIntervalMs = 2;
const kStreamBuffer = 4;
const kArenaBytes = 64 * 2 ** 20;
const kColdTargets = 48;
const flags = parseFlags();
const lib = String(flags.lib);
const params = flags.quick
  ? { warmup: 50, frames: 300, streamFrames: 300 }
  : { warmup: 200, frames: 2_000, streamFrames: 3_000 };

runCell({ scenario: 'frames', lib }, () => {
  if (lib === 'memcpy') return measureMemcpy();
  if (lib === 'keel-stream') return measureStream('frames');
  if (lib === 'keel-stream-in-place') return measureStream('framesInPlace');
  if (lib === 'keel-stream-process') return measureStream('frames', 'process');
  if (lib === 'keel-stream-process-in-place') return measureStream('framesInPlace', 'process');
  if (lib === 'keel-stream-process-pipe') return measureStream('frames', 'process', false);
  return measureRemote();
});

async function measureRemote() {
  const remote = await createRemote(lib, 'frame');
  const receive = async () => {
    const frame = await remote.frame();
    const latencyUs = ageNs(frame) / 1000;
    checkFrame(frame, lib);
    remote.release?.(frame);
    return latencyUs;
  };
  await timeSequential(receive, params.warmup, false);
  const latenciesUs = new Float64Array(params.frames);
  const meter = startMeter();
  const roundTripsUs = await timeSequential(
    async (i) => (latenciesUs[i] = await receive()),
    params.frames,
  );
  const usage = meter.stop();
  const roundTrip = summarizeUs(roundTripsUs);
  const stream = await streamFrames(receive);
  const extra = remote.stats?.() ?? {};
  const closed = await withTimeout(remote.close(), 10_000);
  return {
    version: remote.version,
    settings: remote.settings,
    params: { frameBytes: kFrameBytes, inFlight: kInFlight, ...params },
    metrics: {
      ...summarizeUs(latenciesUs),
      mainUsPerFrame: (usage.mainCpuUs ?? usage.mainActiveUs) / params.frames,
      mainEluUsPerFrame: usage.mainActiveUs / params.frames,
      cpuUsPerFrame: usage.cpuUs / params.frames,
      rttP50Us: roundTrip.p50Us,
      rttP99Us: roundTrip.p99Us,
      ...stream,
      ...extra,
      closeMs: closed.ok ? closed.ms : null,
    },
  };
}

/** Phase 2: `kInFlight` closed-loop lanes asking for frames until streamFrames arrived. */
async function streamFrames(receive) {
  let asked = 0;
  const lane = async () => {
    while (asked < params.streamFrames) {
      asked++;
      await receive();
    }
  };
  const meter = startMeter();
  await Promise.all(Array.from({ length: kInFlight }, lane));
  const usage = meter.stop();
  return {
    gbPerSec: (params.streamFrames * kFrameBytes) / (usage.wallMs * 1e6),
    streamMainUsPerFrame: (usage.mainCpuUs ?? usage.mainActiveUs) / params.streamFrames,
  };
}

const kProducers = {
  frames: 'a generator yielding one reused source frame (copied into the arena once per item)',
  framesInPlace:
    'a generator writing each frame into Arena.current().allocate() (the page pattern and the stamp; it crosses by reference, no copy)',
};

/**
 * keel's stream: iterateInWorker with an arena, each frame released once checked. `producer`:
 * 'frames' (a reused source frame, copied into the arena once per item) or 'framesInPlace'
 * (each frame written into the arena by the worker, crossing by reference). `kind`: a worker
 * thread or a child process; `withArena: false` streams without an arena (copies).
 */
async function measureStream(producer, kind = 'thread', withArena = true) {
  const { keel, sources } = await loadKeel();
  if (typeof keel.iterateInWorker !== 'function')
    throw new Error('this keel build has no iterateInWorker');
  const arena = withArena ? new keel.Arena({ bytes: kArenaBytes }) : undefined;
  const url = new URL('../fixtures/keel-stream.mjs', import.meta.url);
  const options = { ...(arena ? { arena } : {}), buffer: kStreamBuffer, kind };
  const open = (count, intervalMs) =>
    keel.iterateInWorker(url, producer, [{ count, intervalMs }], options);
  const receive = (frame) => {
    const latencyUs = ageNs(frame) / 1000;
    checkFrame(frame, lib);
    keel.release(frame);
    return latencyUs;
  };

  const latenciesUs = new Float64Array(params.frames);
  let seen = 0;
  let meter;
  for await (const frame of open(params.warmup + params.frames, kPacedIntervalMs)) {
    if (seen === params.warmup) meter = startMeter();
    const latencyUs = receive(frame);
    if (seen >= params.warmup) latenciesUs[seen - params.warmup] = latencyUs;
    seen++;
  }
  const usage = meter.stop();

  // A new stream is a new worker: it gets as many frames before measuring as the request rows'
  // remote had had by their streaming phase (warm-up plus the one-at-a-time frames).
  const streamWarmup = params.warmup + params.frames;
  seen = 0;
  let streamMeter;
  for await (const frame of open(streamWarmup + params.streamFrames, 0)) {
    if (seen === streamWarmup) streamMeter = startMeter();
    receive(frame);
    seen++;
  }
  const streamUsage = streamMeter.stop();
  return {
    version: installedVersion('keel'),
    settings:
      `iterateInWorker(url, '${producer}', [{ count, intervalMs }], { ${arena ? `arena: new Arena({ bytes: ${kArenaBytes / 2 ** 20} MiB }), ` : ''}buffer: ${kStreamBuffer}, kind: '${kind}' }), ${arena ? kProducers[producer] : 'a generator yielding one reused source frame (copied to the parent with each item)'}, each frame released with release(frame); phase 1 paced at ${kPacedIntervalMs} ms per frame` +
      sourcesNote(sources, ['Arena']),
    params: {
      frameBytes: kFrameBytes,
      buffer: kStreamBuffer,
      pacedIntervalMs: kPacedIntervalMs,
      ...params,
    },
    metrics: {
      ...summarizeUs(latenciesUs),
      mainUsPerFrame: (usage.mainCpuUs ?? usage.mainActiveUs) / params.frames,
      mainEluUsPerFrame: usage.mainActiveUs / params.frames,
      cpuUsPerFrame: usage.cpuUs / params.frames,
      gbPerSec: (params.streamFrames * kFrameBytes) / (streamUsage.wallMs * 1e6),
      streamMainUsPerFrame:
        (streamUsage.mainCpuUs ?? streamUsage.mainActiveUs) / params.streamFrames,
      ...(arena ? arenaStats(arena) : {}),
    },
  };
}

/**
 * The memcpy row: one Uint8Array#set of the frame into a preallocated array on the main thread,
 * cache-hot (the same two arrays; an arena region released a moment ago is reused while still
 * in cache). Its p50/p99 are single copies, its main µs/frame their mean, its GB/s that of
 * back-to-back copies. The cold figure (48 rotating targets, 59 MB) is kept in the metrics.
 */
async function measureMemcpy() {
  const source = makeFrame();
  const target = new Uint8Array(kFrameBytes);
  const copy = async () => target.set(source);
  await timeSequential(copy, params.warmup, false);
  const samplesUs = await timeSequential(copy, params.frames);
  const hot = backToBackGbPerSec(() => target.set(source), params.streamFrames);
  const cold = Array.from({ length: kColdTargets }, () => new Uint8Array(kFrameBytes));
  const coldGbPerSec = backToBackGbPerSec(
    (i) => cold[i % kColdTargets].set(source),
    params.streamFrames,
  );
  const summary = summarizeUs(samplesUs);
  return {
    version: process.version,
    settings: `target.set(frame), preallocated target, cache-hot; back to back cold (${kColdTargets} rotating targets): ${coldGbPerSec.toFixed(1)} GB/s`,
    params: { frameBytes: kFrameBytes, ...params },
    metrics: {
      ...summary,
      mainUsPerFrame: summary.meanUs,
      mainEluUsPerFrame: summary.meanUs,
      gbPerSec: hot,
      coldGbPerSec,
    },
  };
}

function backToBackGbPerSec(copyOne, count) {
  for (let i = 0; i < Math.min(count, 100); i++) copyOne(i);
  const t0 = performance.now();
  for (let i = 0; i < count; i++) copyOne(i);
  return (count * kFrameBytes) / ((performance.now() - t0) * 1e6);
}
