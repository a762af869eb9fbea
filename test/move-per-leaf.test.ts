// move() with an arena, leaf by leaf (SPEC §2 "moved leaves skip the arena"): in one message, a
// moved leaf is transferred and an unmoved large leaf still goes through the arena, in pool
// results, pool arguments and stream items.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Arena, Pool, iterateInWorker, move } from 'keel';
import { fixture } from './helpers.ts';

type Mixed = typeof import('./fixtures/move-per-leaf.mjs');
const mixedUrl = fixture('move-per-leaf.mjs');
const kFrameBytes = 256 * 1024;

function frameOf(bytes: number, seed: number): Uint8Array {
  const frame = new Uint8Array(bytes).fill(seed);
  frame[0] = 0xa5;
  return frame;
}

function checkFrame(frame: Uint8Array, seed: number): void {
  assert.equal(frame.byteLength, kFrameBytes);
  assert.equal(frame[0], 0xa5);
  assert.equal(frame[kFrameBytes - 1], seed);
}

async function withArena(body: (arena: Arena) => Promise<void>): Promise<void> {
  const arena = new Arena({ bytes: 4 * 2 ** 20, minBytes: 4096 });
  try {
    await body(arena);
  } finally {
    arena.close();
  }
}

test('a result with a moved and an unmoved frame: the moved one is transferred, the other comes through the arena', async () => {
  await withArena(async (arena) => {
    await using pool = new Pool({ maxThreads: 1, arena });
    const result = await pool.run<ReturnType<Mixed['mixedFrames']>>(mixedUrl, 'mixedFrames', [
      kFrameBytes,
      4,
    ]);
    checkFrame(result.moved, 4);
    checkFrame(result.copied, 5);
    assert.ok(
      !(result.moved.buffer instanceof SharedArrayBuffer),
      'the moved frame was transferred',
    );
    assert.ok(
      result.copied.buffer instanceof SharedArrayBuffer,
      'the other frame is an arena view',
    );
    assert.equal(arena.stats().fallbacks, 0);
    assert.deepEqual(
      await pool.run<ReturnType<Mixed['lastMixed']>>(mixedUrl, 'lastMixed', []),
      { moved: 0, copied: kFrameBytes },
      "the worker's moved buffer is detached, its other buffer untouched",
    );
  });
});

test('arguments with a moved and an unmoved frame: the moved one is transferred, the other goes through the arena', async () => {
  await withArena(async (arena) => {
    await using pool = new Pool({ maxThreads: 1, arena });
    const moved = frameOf(kFrameBytes, 7);
    const copied = frameOf(kFrameBytes, 8);
    const seen = await pool.run<ReturnType<Mixed['describeMixed']>>(mixedUrl, 'describeMixed', [
      { moved: move(moved), copied },
    ]);
    assert.deepEqual(seen, {
      moved: { byteLength: kFrameBytes, first: 0xa5, last: 7, shared: false },
      copied: { byteLength: kFrameBytes, first: 0xa5, last: 8, shared: true },
    });
    assert.equal(moved.byteLength, 0, "the caller's moved buffer is detached once sent");
    assert.equal(copied.byteLength, kFrameBytes, 'the unmoved one stays with the caller');
  });
});

test('stream items with a moved and an unmoved frame: each leaf takes its own way', async () => {
  await withArena(async (arena) => {
    let count = 0;
    for await (const item of iterateInWorker<Mixed, 'mixedStream'>(
      mixedUrl,
      'mixedStream',
      [4, kFrameBytes],
      { arena },
    )) {
      assert.equal(item.index, count);
      checkFrame(item.moved, count);
      checkFrame(item.copied, count + 1);
      assert.ok(
        !(item.moved.buffer instanceof SharedArrayBuffer),
        'the moved frame was transferred',
      );
      assert.ok(
        item.copied.buffer instanceof SharedArrayBuffer,
        'the other frame is an arena view',
      );
      if (count > 0) assert.deepEqual(item.previous, { moved: 0, copied: kFrameBytes });
      count++;
    }
    assert.equal(count, 4);
  });
});
