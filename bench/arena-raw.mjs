// Arena micro-benchmark (plain JS over dist/; run `npx tsc -p tsconfig.build.json` first):
//   node bench/arena-raw.mjs [--frames 1500]
// 1. One 1.2 MB frame (480x848x3 Uint8Array) on one thread: offload + restore against one
//    memcpy (Uint8Array#set) and structuredClone; the envelope machinery (without the copy)
//    against v8.Serializer with transferArrayBuffer (the other way to mark leaves out of band).
// 2. A stream of such frames worker -> main thread (window of 4 frames in flight): MB/s and
//    main-thread busy time per frame, through the arena, by structured clone and by transfer,
//    against memcpy bandwidth. Numbers on a shared machine are noisy: compare ratios of one run.
import { Serializer, Deserializer } from 'node:v8';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { Arena, release } from '../dist/memory/arena/index.js';

const kFrameBytes = 480 * 848 * 3;
const kWindow = Number(process.env.WINDOW ?? 4);

function frameOf(seed) {
  const frame = new Uint8Array(kFrameBytes);
  for (let i = 0; i < frame.length; i += 4096) frame[i] = (seed + i) & 0xff;
  return frame;
}

/** Median microseconds per call of `fn` over `rounds` rounds of `calls` calls. */
function timeUs(fn, { calls = 200, rounds = 9 } = {}) {
  for (let i = 0; i < calls; i++) fn(i);
  const samples = [];
  for (let round = 0; round < rounds; round++) {
    const startMs = performance.now();
    for (let i = 0; i < calls; i++) fn(i);
    samples.push(((performance.now() - startMs) * 1000) / calls);
  }
  return samples.sort((a, b) => a - b)[rounds >> 1];
}

/** Median us of restore + release alone: each round restores 40 envelopes made beforehand. */
function receiverUs(arena, value) {
  const samples = [];
  for (let round = 0; round < 10; round++) {
    const envelopes = Array.from({ length: 40 }, () => arena.offload(value));
    const startMs = performance.now();
    for (const envelope of envelopes) release(arena.restore(envelope));
    samples.push(((performance.now() - startMs) * 1000) / envelopes.length);
  }
  return samples.sort((a, b) => a - b)[5];
}

function singleThread() {
  const arena = new Arena({ bytes: 64 * 2 ** 20 });
  const frame = frameOf(1);
  const value = { frame, id: 7, stamp: 123.5 };
  const target = new Uint8Array(kFrameBytes);
  const coldTargets = Array.from({ length: 48 }, () => new Uint8Array(kFrameBytes));
  const outOfBand = new SharedArrayBuffer(kFrameBytes);
  const small = new Arena({ bytes: 2 ** 20, minBytes: 4096 });
  const smallValue = { frame: frame.subarray(0, 4096), id: 7, stamp: 123.5 };
  // The first use of each arena page faults it in: touch them all before timing.
  for (const envelope of Array.from({ length: 50 }, () => arena.offload(value)))
    arena.discard(envelope);
  for (let i = 0; i < 500; i++) release(arena.restore(arena.offload(value)));
  // structuredClone last: the garbage it leaves would slow whatever runs after it.
  const rows = {
    'memcpy (Uint8Array#set, same target)': timeUs(() => target.set(frame)),
    'memcpy, 48 rotating targets (cold)': timeUs((i) => coldTargets[i % 48].set(frame)),
    'arena offload (sender)': timeUs(() => arena.discard(arena.offload(value))),
    'arena restore + release (receiver)': receiverUs(arena, value),
    'arena offload + restore + release': timeUs(() => release(arena.restore(arena.offload(value)))),
    '  walk + envelope + restore, 4 KiB leaf (minBytes 4096), copy included': timeUs(() =>
      release(small.restore(small.offload(smallValue))),
    ),
    '  v8.Serializer transferArrayBuffer skeleton (serialize+deserialize)': timeUs(() => {
      const serializer = new Serializer();
      serializer.transferArrayBuffer(0, frame.buffer);
      serializer.writeHeader();
      serializer.writeValue(value);
      const deserializer = new Deserializer(serializer.releaseBuffer());
      deserializer.transferArrayBuffer(0, outOfBand);
      deserializer.readHeader();
      return deserializer.readValue();
    }),
    structuredClone: timeUs(() => structuredClone(value), { calls: 50 }),
  };
  const memcpyUs = rows['memcpy (Uint8Array#set, same target)'];
  console.log(`\n1.2 MB frame (${kFrameBytes} bytes), one thread, median us per call:`);
  for (const [name, us] of Object.entries(rows)) {
    console.log(
      `  ${name.padEnd(70)} ${us.toFixed(1).padStart(8)} us  ${(us / memcpyUs).toFixed(2)}x memcpy`,
    );
  }
  return { memcpyUs, coldMemcpyUs: rows['memcpy, 48 rotating targets (cold)'] };
}

async function stream(mode, frames) {
  const arena = new Arena({ bytes: 64 * 2 ** 20 });
  const acked = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(new URL(import.meta.url), {
    workerData: { mode, frames, acked, arena: mode === 'arena' ? arena.share() : null },
  });
  let received = 0;
  let checksum = 0;
  const eluStart = performance.eventLoopUtilization();
  const startMs = performance.now();
  await new Promise((resolve, reject) => {
    worker.on('error', reject);
    worker.on('message', (message) => {
      const frame = mode === 'arena' ? arena.restore(message) : message;
      checksum = (checksum + frame[4096] + frame[kFrameBytes - 1]) | 0;
      if (mode === 'arena') release(frame);
      received++;
      Atomics.add(acked, 0, 1);
      Atomics.notify(acked, 0);
      if (received === frames) resolve();
    });
  });
  const elapsedMs = performance.now() - startMs;
  const elu = performance.eventLoopUtilization(eluStart);
  await worker.terminate();
  return {
    mbPerS: (frames * kFrameBytes) / 1e6 / (elapsedMs / 1000),
    mainUsPerFrame: (elu.active * 1000) / frames,
    checksum,
  };
}

async function workerMain() {
  const { mode, frames, acked } = workerData;
  const arena = mode === 'arena' ? Arena.fromShared(workerData.arena) : null;
  const source = frameOf(2);
  for (let seq = 0; seq < frames; seq++) {
    // A window of kWindow frames in flight, the same for every mode.
    for (let seen = Atomics.load(acked, 0); seq - seen >= kWindow; seen = Atomics.load(acked, 0)) {
      Atomics.wait(acked, 0, seen, 1000);
    }
    source[0] = seq & 0xff;
    if (mode === 'arena') {
      parentPort.postMessage(await arena.offloadAsync(source, { timeoutMs: 10_000 }));
    } else if (mode === 'transfer') {
      const copy = source.slice(); // the one copy a transferring producer makes
      parentPort.postMessage(copy, [copy.buffer]);
    } else {
      parentPort.postMessage(source);
    }
  }
}

async function main() {
  const flag = process.argv.indexOf('--frames');
  const frames = flag > 0 ? Number(process.argv[flag + 1]) : 1500;
  console.log(
    `node ${process.version}, ${(await import('node:os')).availableParallelism()} cores (shared, noisy)`,
  );
  const { memcpyUs, coldMemcpyUs } = singleThread();
  const memcpyMbPerS = kFrameBytes / memcpyUs;
  const coldMbPerS = kFrameBytes / coldMemcpyUs;
  console.log(`\nstream of ${frames} frames worker -> main, ${kWindow} in flight:`);
  console.log(
    `  memcpy bandwidth: ${memcpyMbPerS.toFixed(0)} MB/s (hot), ${coldMbPerS.toFixed(0)} MB/s (cold)`,
  );
  for (const mode of ['arena', 'clone', 'transfer']) {
    const result = await stream(mode, frames);
    console.log(
      `  ${mode.padEnd(9)} ${result.mbPerS.toFixed(0).padStart(6)} MB/s = ${(result.mbPerS / memcpyMbPerS).toFixed(2)}x memcpy (hot), ` +
        `${(result.mbPerS / coldMbPerS).toFixed(2)}x (cold); main thread busy ${result.mainUsPerFrame.toFixed(1)} us/frame`,
    );
  }
}

if (isMainThread) await main();
else await workerMain();
