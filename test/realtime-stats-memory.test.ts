// The statistics of a RealtimeLoop live in memory one thread writes and another reads: a
// Histogram can use caller-provided memory, and a reader's snapshot is never torn.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { Histogram } from '../dist/metrics/histogram.js';
import { LoopStatsMemory } from '../dist/memory/loop-stats.js';
import { fixture } from './helpers.ts';

/** A small seeded generator (mulberry32), so that failures reproduce. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('a Histogram over caller memory records and reports exactly like one with its own memory', () => {
  const next = random(7);
  const own = new Histogram();
  const memory = new SharedArrayBuffer(16 + Histogram.byteLength);
  const shared = new Histogram({ buffer: memory, byteOffset: 16 });
  for (let i = 0; i < 5000; i++) {
    const value = next() ** 3 * 1e5;
    own.record(value);
    shared.record(value);
  }
  assert.deepEqual(shared.summary(), own.summary());
  assert.equal(shared.count, own.count);
  assert.equal(shared.mean, own.mean);
  // A second view of the same memory sees the same state.
  const view = new Histogram({ buffer: memory, byteOffset: 16 });
  assert.deepEqual(view.summary(0.001), own.summary(0.001));
  view.reset();
  assert.equal(shared.count, 0);
  assert.deepEqual(
    new Uint8Array(memory, 0, 16),
    new Uint8Array(16),
    'bytes before the offset untouched',
  );
});

test('a Histogram rejects memory that is too small or misaligned', () => {
  assert.throws(() => new Histogram({ buffer: new ArrayBuffer(64) }), {
    code: 'ERR_INVALID_ARGUMENT',
  });
  assert.throws(
    () => new Histogram({ buffer: new ArrayBuffer(Histogram.byteLength + 8), byteOffset: 4 }),
    { code: 'ERR_INVALID_ARGUMENT', message: /byteOffset/ },
  );
});

test('a reader never sees a torn snapshot while another thread records ticks at full speed', async () => {
  const memory = LoopStatsMemory.allocate(true);
  const count = 300_000;
  const worker = new Worker(fixture('realtime-stats-writer.mjs'), {
    workerData: { buffer: memory.buffer, count },
  });
  const exited = once(worker, 'exit');
  let snapshots = 0;
  let ticks = 0;
  const deadline = performance.now() + 20_000;
  while (ticks < count && performance.now() < deadline) {
    const stats = memory.read();
    snapshots++;
    ticks = stats.ticks;
    assert.equal(stats.missed, ticks, `snapshot ${snapshots}`);
    assert.equal(stats.jitterUs.max, ticks, `snapshot ${snapshots}`);
    assert.ok(stats.jitterUs.p50 <= stats.jitterUs.p99 && stats.jitterUs.p99 <= ticks);
  }
  const [code] = await exited;
  assert.equal(code, 0);
  assert.equal(memory.read().ticks, count);
  assert.ok(snapshots > 10, `${snapshots} snapshots`);
});
