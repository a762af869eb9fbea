import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Arena, release } from 'keel';
import { makeLoader } from './data-loader-helpers.ts';

const kFloats = 1024; // 4 KiB per sample

for (const chunkSize of [8, 2]) {
  test(`with an arena, batches arrive in shared memory, intact, and their space returns (chunkSize ${chunkSize})`, async () => {
    const arena = new Arena({ bytes: 8 * 2 ** 20, minBytes: 4096 });
    const loader = makeLoader(
      { length: 40, shape: kFloats },
      { batchSize: 8, chunkSize, numWorkers: 2, arena, shuffle: true, seed: 9 },
    );
    try {
      const seen: number[] = [];
      for await (const batch of loader) {
        const { data, shape } = batch.x;
        assert.ok(data.buffer instanceof SharedArrayBuffer, 'a view over the arena');
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
      assert.ok(stats.highWaterBytes >= 8 * 4096, 'the batches went through the arena');
      assert.equal(stats.bytesInUse, 0, 'every region given back');
    } finally {
      await loader.close();
      arena.close();
    }
  });
}
