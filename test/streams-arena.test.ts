import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Arena, iterateInWorker, release } from 'keel';
import { fixture, kNeedsNative } from './helpers.ts';

type Streams = typeof import('./fixtures/streams.mjs');
const streamsUrl = fixture('streams.mjs');
const kMiB = 2 ** 20;

function checkFrame(item: { index: number; frame: Uint8Array }, byteLength: number): void {
  const { index, frame } = item;
  assert.equal(frame.length, byteLength);
  assert.equal(frame[0], 0xa5);
  assert.equal(frame[1], index & 0xff);
  assert.equal(frame[byteLength - 1], index & 0xff);
}

test("binary leaves of items arrive as views over the arena's memory, intact; released, the space returns", async () => {
  const arena = new Arena({ bytes: 16 * kMiB });
  let count = 0;
  for await (const item of iterateInWorker<Streams, 'frames'>(
    streamsUrl,
    'frames',
    [20, 256 * 1024],
    { arena },
  )) {
    assert.ok(item.frame.buffer instanceof SharedArrayBuffer, 'a view over the arena');
    assert.equal(item.index, count);
    checkFrame(item, 256 * 1024);
    release(item.frame);
    count++;
  }
  assert.equal(count, 20);
  const stats = arena.stats();
  assert.equal(stats.bytesInUse, 0);
  assert.equal(stats.fallbacks, 0);
  assert.ok(stats.highWaterBytes >= 256 * 1024);
});

test('after a break with items buffered (and one being written), every byte of the arena returns', async () => {
  const arena = new Arena({ bytes: 32 * kMiB });
  const flags = new Int32Array(new SharedArrayBuffer(16));
  for (const buffer of [1, 4, 8]) {
    Atomics.store(flags, 0, 0);
    for await (const item of iterateInWorker<Streams, 'frames'>(
      streamsUrl,
      'frames',
      [1000, kMiB, flags.buffer],
      { arena, buffer },
    )) {
      checkFrame(item, kMiB);
      release(item);
      if (item.index === 5) break;
    }
    assert.equal(Atomics.load(flags, 1), 1, "the generator's finally ran");
    assert.equal(arena.stats().bytesInUse, 0, `buffer ${buffer}: space held after the break`);
  }
});

test('a full arena pauses the generator (backpressure) instead of copying', async () => {
  // Room for three 1 MiB frames, eight allowed in flight: the arena is the limit.
  const arena = new Arena({ bytes: 3 * kMiB + 4096 });
  const stream = iterateInWorker<Streams, 'frames'>(streamsUrl, 'frames', [40, kMiB], {
    arena,
    buffer: 8,
  });
  // Three frames held: the arena is full and the fourth must wait for room.
  const held = [];
  for (let index = 0; index < 3; index++) {
    const { value } = await stream.next();
    held.push(value!);
  }
  const deadline = performance.now() + 10_000;
  while (arena.stats().waits === 0 && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.ok(arena.stats().waits > 0, 'the producer waited for room');
  release(held);
  let count = 3;
  for await (const item of stream) {
    checkFrame(item, kMiB);
    assert.ok(item.frame.buffer instanceof SharedArrayBuffer);
    release(item);
    count++;
  }
  held.forEach((item, index) => {
    assert.equal(item.index, index);
  });
  assert.equal(count, 40);
  const stats = arena.stats();
  assert.equal(stats.fallbacks, 0, 'no frame crossed by copying');
  assert.equal(stats.bytesInUse, 0);
});

test('items a loop keeps without releasing stay intact while later items stream', async () => {
  const arena = new Arena({ bytes: 16 * kMiB });
  const kept: { index: number; frame: Uint8Array }[] = [];
  for await (const item of iterateInWorker<Streams, 'frames'>(
    streamsUrl,
    'frames',
    [12, 128 * 1024],
    { arena },
  )) {
    kept.push(item);
  }
  kept.forEach((item) => {
    checkFrame(item, 128 * 1024);
  });
  release(kept);
  assert.equal(arena.stats().bytesInUse, 0);
});

test(
  'a process stream carries binaries through the arena too (the child maps it)',
  kNeedsNative,
  async () => {
    const arena = new Arena({ bytes: 4 * kMiB });
    let count = 0;
    for await (const item of iterateInWorker<Streams, 'frames'>(streamsUrl, 'frames', [3, kMiB], {
      arena,
      kind: 'process',
    })) {
      assert.ok(item.frame.buffer instanceof SharedArrayBuffer);
      checkFrame(item, kMiB);
      release(item.frame);
      count++;
    }
    assert.equal(count, 3);
    assert.ok(arena.stats().highWaterBytes >= kMiB);
  },
);
