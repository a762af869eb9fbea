/**
 * DataLoader `rank` / `worldSize`: N training processes each load their own shard of one
 * dataset, with PyTorch DistributedSampler's rules (disjoint shards of equal length, padded by
 * repetition unless dropLast, the same shuffle on every rank).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, test } from 'node:test';
import { KeelError } from 'keel';
import { epochIndices, makeLoader, range } from './data-loader-helpers.ts';

const run = promisify(execFile);

interface ShardCase {
  length: number;
  worldSize: number;
  dropLast: boolean;
  shuffle: boolean;
}

/** Every rank's items for one epoch (the loaders share seed and epoch). */
async function shardsOf(shape: ShardCase, epoch = 0, seed?: number): Promise<number[][]> {
  const shards: number[][] = [];
  for (let rank = 0; rank < shape.worldSize; rank++) {
    await using loader = makeLoader(
      { length: shape.length },
      {
        batchSize: 2,
        numWorkers: 1,
        rank,
        worldSize: shape.worldSize,
        dropLast: shape.dropLast,
        shuffle: shape.shuffle,
        ...(seed === undefined ? {} : { seed }),
      },
    );
    loader.epoch = epoch;
    shards.push((await epochIndices(loader)).flat());
  }
  return shards;
}

function counts(items: number[]): Map<number, number> {
  const seen = new Map<number, number>();
  for (const item of items) seen.set(item, (seen.get(item) ?? 0) + 1);
  return seen;
}

describe('DataLoader shards: disjoint, equal, complete', () => {
  const cases: ShardCase[] = [
    { length: 12, worldSize: 3, dropLast: false, shuffle: true },
    { length: 10, worldSize: 4, dropLast: false, shuffle: true },
    { length: 10, worldSize: 4, dropLast: true, shuffle: true },
    { length: 7, worldSize: 2, dropLast: false, shuffle: false },
    { length: 2, worldSize: 5, dropLast: false, shuffle: true },
  ];
  for (const shape of cases) {
    test(`length ${shape.length} over ${shape.worldSize} ranks (dropLast ${shape.dropLast}, shuffle ${shape.shuffle}): equal shards that together cover the dataset`, async () => {
      const shards = await shardsOf(shape, 0, 11);
      const perRank = shape.dropLast
        ? Math.floor(shape.length / shape.worldSize)
        : Math.ceil(shape.length / shape.worldSize);
      assert.deepEqual(
        shards.map((shard) => shard.length),
        shards.map(() => perRank),
        'every rank the same number of items',
      );
      const all = counts(shards.flat());
      const padding = perRank * shape.worldSize - shape.length;
      if (shape.dropLast) {
        assert.ok(
          [...all.values()].every((count) => count === 1),
          'no item on two ranks',
        );
        assert.equal(all.size, perRank * shape.worldSize);
      } else {
        assert.deepEqual(
          [...all.keys()].sort((a, b) => a - b),
          range(shape.length),
          'every item on some rank',
        );
        const repeats = [...all.values()].reduce((sum, count) => sum + count - 1, 0);
        assert.equal(repeats, padding, 'only the padding repeats items');
      }
    });
  }

  test('without a seed, ranks still agree on the shuffle (the distributed default seed is 0)', async () => {
    const shape = { length: 40, worldSize: 2, dropLast: false, shuffle: true };
    const shards = await shardsOf(shape);
    assert.equal(counts(shards.flat()).size, 40, 'the two shards are disjoint');
    assert.deepEqual(await shardsOf(shape, 0, 0), shards, 'the same as seed 0');
  });

  test('the same seed and epoch give a rank the same shard; the next epoch reshuffles it', async () => {
    const shape = { length: 64, worldSize: 4, dropLast: false, shuffle: true };
    const first = await shardsOf(shape, 3, 5);
    assert.deepEqual(await shardsOf(shape, 3, 5), first);
    const next = await shardsOf(shape, 4, 5);
    assert.notDeepEqual(next[0], first[0]);
    assert.equal(counts(next.flat()).size, 64, 'still disjoint in the next epoch');
  });

  test('loader.length counts the batches of the rank, not of the dataset', async () => {
    await using loader = makeLoader(
      { length: 10 },
      { batchSize: 2, rank: 1, worldSize: 4, shuffle: true, seed: 1 },
    );
    const batches = await epochIndices(loader);
    assert.deepEqual(
      batches.map((batch) => batch.length),
      [2, 1],
    );
    assert.equal(loader.length, 2);
  });

  test('two training processes, one rank each, load disjoint halves', async () => {
    const program = `
      import { DataLoader } from 'keel';
      const [rank, url] = process.argv.slice(1);
      const loader = new DataLoader({
        dataset: { module: url, factory: 'makeDataset', args: [{ length: 50 }] },
        batchSize: 8, numWorkers: 2, shuffle: true, seed: 9, rank: Number(rank), worldSize: 2,
      });
      const seen = [];
      for await (const batch of loader) seen.push(...batch.index.data);
      await loader.close();
      console.log(JSON.stringify(seen));
    `;
    const url = new URL('./fixtures/loader-dataset.mjs', import.meta.url).href;
    const outputs = await Promise.all(
      [0, 1].map((rank) =>
        run(process.execPath, ['--input-type=module', '-e', program, String(rank), url], {
          timeout: 60_000,
        }),
      ),
    );
    const [left, right] = outputs.map(({ stdout }) => JSON.parse(stdout) as number[]);
    assert.equal(left!.length, 25);
    assert.equal(right!.length, 25);
    assert.deepEqual(
      [...left!, ...right!].sort((a, b) => a - b),
      range(50),
    );
  });
});

describe('DataLoader shards: bad options', () => {
  const bad: [string, Record<string, unknown>, RegExp][] = [
    ['rank without worldSize', { rank: 1 }, /worldSize.*when rank is given/],
    ['rank equal to worldSize', { rank: 2, worldSize: 2 }, /rank.*0 to worldSize - 1 \(1\)/],
    ['a negative rank', { rank: -1, worldSize: 2 }, /rank/],
    ['worldSize 0', { worldSize: 0 }, /worldSize.*positive integer/],
    ['a fractional worldSize', { worldSize: 1.5 }, /worldSize/],
    ['a string rank', { rank: '0', worldSize: 2 }, /rank/],
  ];
  for (const [what, options, message] of bad) {
    test(`${what} is ERR_INVALID_ARGUMENT naming the option`, () => {
      assert.throws(
        () => makeLoader({ length: 4 }, { batchSize: 2, ...options }),
        (error: unknown) =>
          error instanceof KeelError &&
          error.code === 'ERR_INVALID_ARGUMENT' &&
          message.test(error.message),
      );
    });
  }
});
