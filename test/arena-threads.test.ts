// The arena across real threads: a worker rebuilds it from share(), values cross both ways
// with their types, and the space of a worker killed mid-unit is reclaimed after its exit.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { Arena, type ArenaEnvelope, release } from '../dist/memory/arena/index.js';
import { fixture } from './helpers.ts';

test('a worker rebuilds the arena from share(); values cross both ways with the same types and contents', async () => {
  const arena = new Arena({ bytes: 4 * 2 ** 20, minBytes: 1024 });
  const data = arena.share();
  const worker = new Worker(fixture('arena-echo.mjs'), { workerData: { arena: data } });
  try {
    const value = {
      frame: new Uint8Array(480 * 848).map((_, i) => i & 0xff),
      depth: new Float32Array(10_000).map((_, i) => i / 3),
      raw: Buffer.alloc(5000, 0x5a),
      stamps: new BigUint64Array(300).fill(2n ** 63n),
      tag: 'frame-1',
    };
    for (let round = 0; round < 20; round++) {
      worker.postMessage({ envelope: arena.offload(value) });
      const [reply] = (await once(worker, 'message')) as [
        { envelope?: ArenaEnvelope; error?: string },
      ];
      assert.equal(reply.error, undefined, reply.error);
      const back = arena.restore(reply.envelope!) as { value: typeof value; handleId: number };
      assert.equal(back.handleId, data.handleId);
      assert.deepStrictEqual(back.value, value);
      assert.ok(back.value.frame.buffer instanceof SharedArrayBuffer);
      assert.ok(Buffer.isBuffer(back.value.raw));
      release(back);
    }
    assert.equal(arena.stats().bytesInUse, 0, 'the worker released what it restored');
  } finally {
    worker.postMessage('close');
    await once(worker, 'exit');
  }
});

test("a worker killed in the middle of a unit leaves nothing stuck: reclaimHandle after 'exit' returns its space", async () => {
  const arena = new Arena({ bytes: 256 * 1024, minBytes: 1024 });
  const data = arena.share();
  const worker = new Worker(fixture('arena-die.mjs'), {
    workerData: { arena: data, bytes: 50_000 },
  });
  const [message] = await once(worker, 'message');
  assert.equal(message, 'holding');
  assert.equal(arena.stats().units, 2);
  assert.ok(arena.stats().bytesInUse >= 100_000);
  const exited = once(worker, 'exit');
  await worker.terminate();
  await exited;
  assert.equal(arena.reclaimHandle(data.handleId), 2);
  assert.deepEqual([arena.stats().bytesInUse, arena.stats().units], [0, 0]);
  const restored = arena.restore(arena.offload(new Uint8Array(200_000).fill(3)));
  assert.equal(restored.length, 200_000, 'the whole arena is usable again');
  release(restored);
});
