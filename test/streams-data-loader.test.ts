import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DataLoader, KeelError, defaultCollate } from 'keel';
import { Flags, fixture, rejectionOf } from './helpers.ts';
import {
  collect,
  datasetUrl,
  epochIndices,
  makeLoader,
  range,
  type Sample,
} from './data-loader-helpers.ts';

function sortedFlat(batches: number[][]): number[] {
  return batches.flat().sort((a, b) => a - b);
}

describe('DataLoader: which indices, in which batches', () => {
  for (const dropLast of [false, true]) {
    for (const shuffle of [false, true]) {
      test(`every index appears exactly once per epoch (shuffle ${shuffle}, dropLast ${dropLast}, partial last batch)`, async () => {
        await using loader = makeLoader(
          { length: 23 },
          { batchSize: 5, chunkSize: 2, numWorkers: 2, shuffle, dropLast, seed: 3 },
        );
        for (let epoch = 0; epoch < 2; epoch++) {
          const batches = await epochIndices(loader);
          if (dropLast) {
            assert.equal(batches.length, 4);
            assert.ok(batches.every((batch) => batch.length === 5));
            const seen = sortedFlat(batches);
            assert.equal(new Set(seen).size, 20, 'no index twice');
            assert.ok(seen.every((index) => index >= 0 && index < 23));
            if (!shuffle) assert.deepEqual(seen, range(20));
          } else {
            assert.deepEqual(
              batches.map((batch) => batch.length),
              [5, 5, 5, 5, 3],
            );
            assert.deepEqual(sortedFlat(batches), range(23));
          }
        }
        assert.equal(loader.length, dropLast ? 4 : 5);
        assert.equal(loader.epoch, 2);
      });
    }
  }

  test('without shuffle, batches hold consecutive indices in order', async () => {
    await using loader = makeLoader({ length: 10 }, { batchSize: 4, chunkSize: 1, numWorkers: 2 });
    assert.deepEqual(await epochIndices(loader), [
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9],
    ]);
  });

  test('chunks loaded by a slow and a fast worker are put back in order, and batches come in order', async () => {
    // Worker 0 sleeps 15 ms per item, worker 1 answers at once: chunks finish out of order.
    await using loader = makeLoader(
      { length: 48, delayMsByWorker: [15, 0] },
      {
        batchSize: 8,
        chunkSize: 2,
        numWorkers: 2,
        workerInit: { module: datasetUrl, export: 'init' },
      },
    );
    const batches: Sample[][] = [];
    for await (const batch of loader) {
      batches.push(
        Array.from(batch.index.data, (index, row) => ({
          index,
          workerIndex: batch.workerIndex.data[row]!,
        })) as Sample[],
      );
    }
    assert.deepEqual(
      batches.map((batch) => batch.map((sample) => sample.index)),
      range(6).map((batch) => range(8).map((row) => batch * 8 + row)),
    );
    const workers = new Set(batches.flat().map((sample) => sample.workerIndex));
    assert.deepEqual([...workers].sort(), [0, 1], 'both workers loaded chunks');
  });

  test('with ordered: false every batch still arrives whole, each exactly once', async () => {
    await using loader = makeLoader(
      { length: 40, delayMsByWorker: [10, 0] },
      {
        batchSize: 4,
        chunkSize: 2,
        numWorkers: 2,
        ordered: false,
        workerInit: { module: datasetUrl, export: 'init' },
      },
    );
    const batches = await epochIndices(loader);
    assert.equal(batches.length, 10);
    const expected = range(10).map((batch) => range(4).map((row) => batch * 4 + row));
    assert.deepEqual(
      [...batches].sort((a, b) => a[0]! - b[0]!),
      expected,
    );
  });

  for (const ordered of [false, true]) {
    test(`a straggling batch ${ordered ? 'holds back later ones (ordered)' : 'does not hold back later ones (ordered: false)'}`, async () => {
      // The chunk of batch 0 blocks its worker until released; the other worker loads the rest.
      const gate = new Flags();
      const loader = makeLoader(
        { length: 8, gateAt: 0, gate: gate.buffer },
        { batchSize: 2, chunkSize: 2, numWorkers: 2, prefetch: 4, ordered },
      );
      try {
        const iterator = loader[Symbol.asyncIterator]();
        const first = iterator.next();
        await gate.started();
        if (!ordered) {
          const batch = await first;
          assert.notEqual(batch.value!.index.data[0], 0, 'a later batch came first');
        }
        gate.release();
        const batches = [await first];
        for (let result = await iterator.next(); !result.done; result = await iterator.next()) {
          batches.push(result);
        }
        const starts = batches.map((result) => result.value!.index.data[0]!);
        if (ordered) assert.deepEqual(starts, [0, 2, 4, 6]);
        else assert.deepEqual([...starts].sort(), [0, 2, 4, 6]);
      } finally {
        gate.release();
        await loader.close();
      }
    });
  }
});

describe('DataLoader: seeds and epochs', () => {
  async function epochs(seed: number, count: number): Promise<number[][][]> {
    await using loader = makeLoader(
      { length: 50 },
      { batchSize: 8, numWorkers: 2, shuffle: true, seed },
    );
    const result: number[][][] = [];
    for (let epoch = 0; epoch < count; epoch++) result.push(await epochIndices(loader));
    return result;
  }

  test('the same seed gives the same batches, epoch by epoch', async () => {
    const first = await epochs(11, 2);
    const second = await epochs(11, 2);
    assert.deepEqual(first, second);
  });

  test('another seed, or another epoch, gives another order', async () => {
    const [epoch0, epoch1] = await epochs(11, 2);
    const [otherSeed] = await epochs(12, 1);
    assert.notDeepEqual(epoch0!.flat(), epoch1!.flat());
    assert.notDeepEqual(epoch0!.flat(), otherSeed!.flat());
    assert.notDeepEqual(epoch0!.flat(), range(50), 'shuffled');
  });

  test('setting epoch replays that epoch; seed reports the seed', async () => {
    await using loader = makeLoader({ length: 30 }, { batchSize: 8, shuffle: true, seed: 5 });
    const epoch0 = await epochIndices(loader);
    await epochIndices(loader);
    loader.epoch = 0;
    assert.deepEqual(await epochIndices(loader), epoch0);
    assert.equal(loader.seed, 5);
    assert.throws(
      () => {
        loader.epoch = -1;
      },
      { code: 'ERR_INVALID_ARGUMENT' },
    );
  });
});

describe('DataLoader: collate and datasets', () => {
  test('a batch of several chunks equals defaultCollate of all its samples', async () => {
    await using loader = makeLoader(
      { length: 9, shape: 3 },
      { batchSize: 6, chunkSize: 2, numWorkers: 2, collate: defaultCollate },
    );
    const [first] = await collect(loader);
    assert.ok(first);
    assert.deepEqual(first.index.shape, [6]);
    assert.deepEqual(first.x.shape, [6, 3]);
    assert.equal(first.x.dtype, 'float32');
    assert.ok(first.x.data instanceof Float32Array);
    assert.deepEqual(
      Array.from(first.x.data),
      range(6).flatMap((index) => [index, index, index]),
    );
    assert.deepEqual(first.initSawDataset, [false, false, false, false, false, false]);
  });

  test('a module dataset (exports length and getItem) is collated with lists for strings', async () => {
    await using loader = new DataLoader({
      dataset: fixture('loader-module-dataset.mjs'),
      batchSize: 4,
      chunkSize: 2,
      numWorkers: 2,
    });
    const batches = await collect(loader);
    const samples = range(10).map((index) => ({ value: index * 2, tag: `item-${index}` }));
    assert.deepEqual(batches, [
      defaultCollate(samples.slice(0, 4)),
      defaultCollate(samples.slice(4, 8)),
      defaultCollate(samples.slice(8)),
    ]);
  });

  test('a dataset module written in TypeScript loads in the workers', async () => {
    await using loader = new DataLoader<{ square: { data: Float64Array } }>({
      dataset: fixture('loader-typed-dataset.ts'),
      batchSize: 5,
      numWorkers: 2,
    });
    const [batch] = await collect(loader);
    assert.deepEqual(Array.from(batch!.square.data), [0, 1, 4, 9, 16]);
  });

  test('a collate function runs on the calling thread over the samples of the whole batch, in order', async () => {
    const seen: number[] = [];
    const loader = new DataLoader<number[]>({
      dataset: { module: datasetUrl, factory: 'numbers', args: [7] },
      batchSize: 3,
      chunkSize: 1,
      numWorkers: 2,
      collate: (samples) => {
        seen.push(samples.length);
        return samples as number[];
      },
    });
    try {
      assert.deepEqual(await collect(loader), [[0, 10, 20], [30, 40, 50], [60]]);
      assert.deepEqual(seen, [3, 3, 1]);
    } finally {
      await loader.close();
    }
  });

  test('an async collate function is awaited', async () => {
    const loader = new DataLoader<number>({
      dataset: { module: datasetUrl, factory: 'numbers', args: [4] },
      batchSize: 2,
      collate: async (samples) => {
        await new Promise((resolve) => setImmediate(resolve));
        return (samples as number[]).reduce((a, b) => a + b, 0);
      },
    });
    try {
      assert.deepEqual(await collect(loader), [10, 50]);
    } finally {
      await loader.close();
    }
  });

  test('a module collate runs in the workers per chunk; its tensors and lists are joined in order', async () => {
    await using loader = new DataLoader<{ values: Int32Array; labels: string[] }>({
      dataset: { module: datasetUrl, factory: 'numbers', args: [5] },
      batchSize: 4,
      chunkSize: 1,
      numWorkers: 2,
      collate: { module: datasetUrl, export: 'valuesAndLabels' },
    });
    const batches = await collect(loader);
    assert.deepEqual(
      batches.map((batch) => Array.from(batch.values)),
      [[0, 10, 20, 30], [40]],
    );
    assert.ok(batches[0]!.values instanceof Int32Array);
    assert.deepEqual(batches[0]!.labels, ['n0', 'n10', 'n20', 'n30']);
  });

  test('a module collate whose chunk results cannot be joined rejects clearly; one chunk per batch passes them through', async () => {
    const options = {
      dataset: { module: datasetUrl, factory: 'numbers', args: [5] },
      batchSize: 4,
      numWorkers: 2,
      collate: { module: datasetUrl, export: 'chunkLength' },
    };
    const split = new DataLoader({ ...options, chunkSize: 2 });
    const whole = new DataLoader({ ...options, chunkSize: 4 });
    try {
      const error = await rejectionOf(collect(split));
      assert.ok(error instanceof KeelError);
      assert.equal(error.code, 'ERR_INVALID_ARGUMENT');
      assert.match(error.message, /cannot join the chunks/);
      assert.deepEqual(await collect(whole), [4, 1]);
    } finally {
      await Promise.all([split.close(), whole.close()]);
    }
  });
});

describe('DataLoader: workers', () => {
  test('workerInit runs once in each worker, with its index, the worker count and the dataset', async () => {
    await using loader = makeLoader(
      { length: 30 },
      {
        batchSize: 6,
        chunkSize: 1,
        numWorkers: 3,
        workerInit: { module: datasetUrl, export: 'init' },
      },
    );
    const byThread = new Map<number, number>();
    for await (const batch of loader) {
      assert.deepEqual(new Set(batch.initCalls.data), new Set([1]));
      assert.deepEqual(new Set(batch.initNumWorkers.data), new Set([3]));
      assert.deepEqual(new Set(batch.initSawDataset), new Set([true]));
      batch.threadId.data.forEach((threadId, row) => {
        const workerIndex = batch.workerIndex.data[row]!;
        assert.equal(byThread.get(threadId) ?? workerIndex, workerIndex, 'one index per thread');
        byThread.set(threadId, workerIndex);
      });
    }
    assert.deepEqual([...byThread.values()].sort(), [0, 1, 2]);
  });

  async function threadsPerEpoch(persistentWorkers: boolean): Promise<Set<number>[]> {
    await using loader = makeLoader(
      { length: 16 },
      {
        batchSize: 4,
        chunkSize: 1,
        numWorkers: 2,
        persistentWorkers,
        workerInit: { module: datasetUrl, export: 'init' },
      },
    );
    const epochs: Set<number>[] = [];
    for (let epoch = 0; epoch < 2; epoch++) {
      const threads = new Set<number>();
      for await (const batch of loader) {
        for (const threadId of batch.threadId.data) threads.add(threadId);
        assert.deepEqual(new Set(batch.initCalls.data), new Set([1]), 'init ran once per worker');
      }
      epochs.push(threads);
    }
    return epochs;
  }

  test('persistentWorkers keeps the same worker threads across epochs', async () => {
    const [first, second] = await threadsPerEpoch(true);
    assert.equal(first!.size, 2);
    assert.deepEqual(second, first);
  });

  test('without persistentWorkers each epoch gets new worker threads', async () => {
    const [first, second] = await threadsPerEpoch(false);
    assert.equal(first!.size, 2);
    assert.equal(second!.size, 2);
    assert.ok([...second!].every((threadId) => !first!.has(threadId)));
  });
});
