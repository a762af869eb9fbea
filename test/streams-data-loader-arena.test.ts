import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Arena, release } from 'keel';
import { makeLoader } from './data-loader-helpers.ts';

const kFloats = 1024; // 4 KiB per sample

for (const chunkSize of [8, 2]) {
  test(`with an arena, batches arrive in shared memory (or as counted fallbacks), intact, and their space returns (chunkSize ${chunkSize})`, async () => {
    const arena = new Arena({ bytes: 8 * 2 ** 20, minBytes: 4096 });
    const loader = makeLoader(
      { length: 40, shape: kFloats },
      { batchSize: 8, chunkSize, numWorkers: 2, arena, shuffle: true, seed: 9 },
    );
    try {
      const seen: number[] = [];
      let copied = 0;
      for await (const batch of loader) {
        const { data, shape } = batch.x;
        // The arena may refuse a region for a moment (no room, or its lock contended under
        // load): that batch is then copied, and the arena counts a fallback.
        if (!(data.buffer instanceof SharedArrayBuffer)) copied++;
        assert.deepEqual(shape, [8, kFloats]);
        batch.index.data.forEach((index, row) => {
          const rowData = data.subarray(row * kFloats, (row + 1) * kFloats);
          assert.ok(
            rowData.every((value) => value === index),
            `row ${row} holds sample ${index}`,
          );
          seen.push(index);
        });
        release(batch);
      }
      assert.deepEqual(
        seen.sort((a, b) => a - b),
        Array.from({ length: 40 }, (_, index) => index),
      );
      const stats = arena.stats();
      assert.ok(copied < 5, `${copied} of 5 batches were copied`);
      assert.ok(copied <= stats.fallbacks, 'every copied batch is a counted fallback');
      assert.ok(stats.highWaterBytes >= 8 * 4096, 'the batches went through the arena');
      assert.equal(stats.bytesInUse, 0, 'every region given back');
    } finally {
      await loader.close();
      arena.close();
    }
  });
}
