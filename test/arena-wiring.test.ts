import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Arena, Pool, SharedObject, close, release, spawn } from 'keel';
import { fixture } from './helpers.ts';

const frames = fixture('frames.mjs');
type Frames = typeof import('./fixtures/frames.mjs');

function expectedChecksum(height: number, width: number, seed: number): number {
  const frame = new Uint8Array(height * width * 3);
  let total = 0;
  for (let index = 0; index < frame.length; index += 4096)
    total = (total + ((seed + index) & 0xff)) | 0;
  return total + (seed & 0xff);
}

test('a pool with an arena returns large results as views over the arena, intact', async () => {
  const arena = new Arena({ bytes: 16 * 2 ** 20 });
  await using pool = new Pool({ maxThreads: 2, arena });
  for (let seed = 0; seed < 20; seed++) {
    const result = await pool.run<{ seed: number; frame: Uint8Array; shape: number[] }>(
      frames,
      'makeFrame',
      [480, 848, seed],
    );
    assert.equal(result.seed, seed);
    assert.ok(
      result.frame.buffer instanceof SharedArrayBuffer,
      'the frame is a view over the arena',
    );
    assert.equal(result.frame.length, 480 * 848 * 3);
    assert.deepEqual(result.shape, [480, 848, 3]);
    // The worker releases the frame it received (consume), so the arena never fills.
    const sum = await pool.run(frames, 'consume', [result.frame]);
    assert.equal(sum, expectedChecksum(480, 848, seed));
    release(result);
  }
  const stats = arena.stats();
  assert.equal(stats.fallbacks, 0);
  assert.ok(stats.highWaterBytes >= 480 * 848 * 3);
});

test('arguments cross through the arena and their space returns when the pool function returns', async () => {
  const arena = new Arena({ bytes: 4 * 2 ** 20 });
  await using pool = new Pool({ maxThreads: 1, arena });
  const frame = new Uint8Array(1 << 20).fill(3);
  for (let round = 0; round < 40; round++) {
    // 40 MiB through a 4 MiB arena without a single copy fallback: each call's arguments are
    // released when it returns (256 sampled bytes of 3, plus the last byte).
    assert.equal(await pool.run(frames, 'checksum', [frame]), 256 * 3 + 3);
  }
  assert.equal(arena.stats().fallbacks, 0);
  assert.equal(await pool.run(frames, 'isShared', [frame]), true);
});

test('a thread remote with an arena carries frames both ways', async () => {
  const arena = new Arena({ bytes: 16 * 2 ** 20 });
  const camera = await spawn<Frames, 'makeCamera'>(frames, 'makeCamera', [], { arena });
  for (let seed = 0; seed < 10; seed++) {
    const { frame } = await camera.frame(480, 848, seed);
    assert.ok(frame.buffer instanceof SharedArrayBuffer);
    assert.equal(frame[frame.length - 1], seed & 0xff);
    release(frame);
  }
  await close(camera);
  assert.equal(arena.stats().bytesInUse, 0);
});

test('SharedObject handles passed as arguments work in pool and remote workers', async () => {
  const slot = SharedObject.create('arena-wiring-camera', new Uint8Array([9, 8, 7]));
  try {
    await using pool = new Pool({ maxThreads: 1 });
    assert.equal(await pool.run(frames, 'readCamera', [slot]), 9);
    await using camera = await spawn<Frames, 'makeCamera'>(frames, 'makeCamera', []);
    assert.equal(await camera.openAndRead('arena-wiring-camera'), 8);
    // A handle a worker returns arrives as a live handle on the same slot.
    const returned = await camera.openHandle('arena-wiring-camera');
    assert.ok(returned instanceof SharedObject);
    slot.assign(new Uint8Array([1, 2, 3]));
    assert.deepEqual([...returned.fetch()], [1, 2, 3]);
  } finally {
    slot.close();
    SharedObject.unlink('arena-wiring-camera');
  }
});
