// iterateInWorker, 1.2 MB frames worker -> main thread through an Arena (plain JS over dist/;
// `npm run build` first):
//   node bench/iterate-frames.mjs [--frames=2000] [--warmup=3000] [--buffer=4] [--kind=thread]
//                                 [--no-arena] [--in-place]
// One stream of warmup + frames frames, back to back; the loop checks and releases each frame
// at once. Measured over the last `frames` frames (steady state: both threads' JIT warm, the
// arena's pages faulted in, the heap at its size), then over a fresh stream of `frames` frames
// from its first frame on (the new worker warming up), whose start (until its first frame) is
// reported apart:
//   - main CPU µs/frame: the main thread's own on-CPU time (Linux schedstat) per frame received,
//     restore + release and waiting included; ELU active µs/frame beside it;
//   - GB/s of the stream, against memcpy of the same frame measured in the same run (cache-hot:
//     one target; cold: 48 rotating targets, as an arena's regions are).
import { performance } from 'node:perf_hooks';
import { Arena, iterateInWorker, release } from '../dist/index.js';
import { kFrameBytes, kTailByte } from './fixtures/frame.mjs';
import { mainThreadCpuUs, parseFlags } from './lib/measure.mjs';

const flags = parseFlags();
const frameCount = Number(flags.frames ?? 2000);
const warmup = Number(flags.warmup ?? 3000);
const buffer = Number(flags.buffer ?? 4);
const kind = flags.kind ?? 'thread';
const useArena = flags['no-arena'] === undefined;
const producer = new URL('./fixtures/keel-stream.mjs', import.meta.url);
// --in-place: the worker writes each frame into Arena.current() (it crosses by reference).
const producerExport = flags['in-place'] === undefined ? 'frames' : 'framesInPlace';

function startMeter() {
  const cpu0 = mainThreadCpuUs();
  const elu0 = performance.eventLoopUtilization();
  const startMs = performance.now();
  return (count) => {
    const wallMs = performance.now() - startMs;
    const elu = performance.eventLoopUtilization(elu0);
    return {
      mainCpuUsPerFrame: +((mainThreadCpuUs() - cpu0) / count).toFixed(2),
      mainEluUsPerFrame: +((elu.active * 1000) / count).toFixed(2),
      gbPerSec: +((count * kFrameBytes) / (wallMs * 1e6)).toFixed(2),
      wallMs: +wallMs.toFixed(1),
    };
  };
}

/** Streams `count` frames; measures from frame `measureFrom` on, and the start apart. */
async function stream(arena, count, measureFrom) {
  const options = { buffer, kind, ...(arena ? { arena } : {}) };
  let received = 0;
  let stop;
  const stopStart = startMeter();
  let start;
  for await (const frame of iterateInWorker(
    producer,
    producerExport,
    [{ count, intervalMs: 0 }],
    options,
  )) {
    if (frame.length !== kFrameBytes || frame[kFrameBytes - 1] !== kTailByte) {
      throw new Error(`frame ${received} was not carried intact`);
    }
    if (frame[8] !== ((received + 1) & 0xff))
      throw new Error(`frame ${received} arrived out of order`);
    received++;
    release(frame);
    if (received === 1) start = stopStart(1);
    if (received === measureFrom) stop = startMeter();
  }
  if (received !== count) throw new Error(`received ${received} of ${count} frames`);
  return { ...stop(count - measureFrom), start };
}

function memcpyGbPerSec(targets) {
  const source = new Uint8Array(kFrameBytes).fill(7);
  const sinks = Array.from({ length: targets }, () => new Uint8Array(kFrameBytes));
  for (let i = 0; i < 200; i++) sinks[i % targets].set(source);
  const count = 2000;
  const startMs = performance.now();
  for (let i = 0; i < count; i++) sinks[i % targets].set(source);
  return (count * kFrameBytes) / ((performance.now() - startMs) * 1e6);
}

const arena = useArena ? new Arena({ bytes: 64 * 2 ** 20 }) : undefined;
const { start: _firstStart, ...steady } = await stream(arena, warmup + frameCount, warmup);
const { start, ...fresh } = await stream(arena, frameCount + 1, 1);
const hot = memcpyGbPerSec(1);
const cold = memcpyGbPerSec(48);
const stats = arena?.stats();
console.log(
  JSON.stringify({
    kind,
    arena: useArena,
    buffer,
    frames: frameCount,
    steady: {
      ...steady,
      vsHot: +(steady.gbPerSec / hot).toFixed(2),
      vsCold: +(steady.gbPerSec / cold).toFixed(2),
    },
    freshStream: fresh,
    start: { wallMs: start.wallMs, mainCpuMs: +(start.mainCpuUsPerFrame / 1000).toFixed(2) },
    memcpyHotGbPerSec: +hot.toFixed(2),
    memcpyColdGbPerSec: +cold.toFixed(2),
    arenaWaits: stats?.waits,
    arenaFallbacks: stats?.fallbacks,
    arenaBytesInUse: stats?.bytesInUse,
  }),
);
