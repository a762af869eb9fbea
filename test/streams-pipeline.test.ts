import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pipeline } from 'keel';
import { Gate, collect, range } from './pipeline-helpers.ts';

/** A small seeded generator (mulberry32): the same "random" delays on every run. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = Math.imul(state ^ (state >>> 15), 1 | state);
    mixed = (mixed + Math.imul(mixed ^ (mixed >>> 7), 61 | mixed)) ^ mixed;
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 2 ** 32;
  };
}

describe('pipeline: values and order', () => {
  test('a pipeline with no stages yields the source, and stats() is empty', async () => {
    const p = pipeline(['a', 'b', 'c']).build();
    assert.deepEqual(await collect(p), ['a', 'b', 'c']);
    assert.deepEqual(p.stats(), []);
  });

  test('sync and async functions are applied in stage order', async () => {
    const p = pipeline(range(20))
      .pipe((value) => value + 1)
      .pipe(async (value) => {
        await sleep(1);
        return value * 10;
      })
      .pipe((value) => `#${value}`)
      .build();
    assert.deepEqual(
      await collect(p),
      range(20).map((value) => `#${(value + 1) * 10}`),
    );
  });

  test('ordered (the default) emits in source order with random per-item delays and concurrency 4', async () => {
    const random = seededRandom(42);
    const delays = range(60).map(() => Math.floor(random() * 15));
    let running = 0;
    let mostRunning = 0;
    const p = pipeline(range(60))
      .pipe(
        async (value) => {
          running++;
          mostRunning = Math.max(mostRunning, running);
          await sleep(delays[value] ?? 0);
          running--;
          return value;
        },
        { concurrency: 4 },
      )
      .pipe(
        async (value) => {
          await sleep(delays[59 - value] ?? 0);
          return value * 2;
        },
        { concurrency: 3 },
      )
      .build({ ordered: true });
    assert.deepEqual(
      await collect(p),
      range(60).map((value) => value * 2),
    );
    // Concurrency bounds the calls in flight (and the delays make several overlap).
    assert.ok(mostRunning <= 4, `at most 4 calls at once, saw ${mostRunning}`);
    assert.ok(mostRunning >= 2, `calls overlapped: saw ${mostRunning} at once`);
  });

  test('ordered: false emits every item, in completion order: a slow first item is not first', async () => {
    const gate = new Gate();
    // If the first item came first anyway (an in-order implementation), the fallback opens the
    // gate so that the test fails on the assertion instead of hanging.
    const fallback = setTimeout(() => {
      gate.open();
    }, 5000);
    const p = pipeline(range(8))
      .pipe(
        async (value) => {
          if (value === 0) await gate.wait();
          return value;
        },
        { concurrency: 4 },
      )
      .build({ ordered: false });
    const received: number[] = [];
    for await (const value of p) {
      received.push(value);
      if (received.length === 1) gate.open();
    }
    clearTimeout(fallback);
    assert.notEqual(received[0], 0);
    assert.deepEqual(
      [...received].sort((a, b) => a - b),
      range(8),
    );
  });

  test('sources: an array, a sync generator, an async generator, a sync iterable of promises', async () => {
    const double = (value: number): number => value * 2;
    function* syncSource(): Generator<number> {
      yield* [1, 2, 3];
    }
    async function* asyncSource(): AsyncGenerator<number> {
      for (const value of [1, 2, 3]) {
        await sleep(1);
        yield value;
      }
    }
    const promises = [1, 2, 3].map((value) => Promise.resolve(value));
    for (const source of [[1, 2, 3], syncSource(), asyncSource(), promises]) {
      const p = pipeline(source as Iterable<number>)
        .pipe(double)
        .build();
      assert.deepEqual(await collect(p), [2, 4, 6]);
    }
  });

  test('an empty source ends at once; undefined and null items pass through', async () => {
    assert.deepEqual(
      await collect(
        pipeline([])
          .pipe(() => 1)
          .build(),
      ),
      [],
    );
    const p = pipeline([undefined, null, 0])
      .pipe((value) => value)
      .build();
    assert.deepEqual(await collect(p), [undefined, null, 0]);
  });
});

describe('pipeline: aggregate and disaggregate', () => {
  test('aggregate makes batches of size and a final partial batch', async () => {
    const batches = await collect(pipeline(range(13)).aggregate(4).build());
    assert.deepEqual(batches, [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11], [12]]);
  });

  test('aggregate with dropLast drops the final partial batch, and keeps a full one', async () => {
    assert.deepEqual(await collect(pipeline(range(13)).aggregate(4, { dropLast: true }).build()), [
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9, 10, 11],
    ]);
    assert.deepEqual(await collect(pipeline(range(8)).aggregate(4, { dropLast: true }).build()), [
      [0, 1, 2, 3],
      [4, 5, 6, 7],
    ]);
    assert.deepEqual(
      await collect(pipeline(range(3)).aggregate(4, { dropLast: true }).build()),
      [],
    );
  });

  test('aggregate, a batch-wise stage, then disaggregate gives the items back, in order', async () => {
    const p = pipeline(range(10))
      .aggregate(3)
      .pipe((batch) => batch.map((value) => value * value), { concurrency: 2 })
      .disaggregate()
      .build();
    assert.deepEqual(
      await collect(p),
      range(10).map((value) => value * value),
    );
    const [aggregate, square, disaggregate] = p.stats();
    assert.deepEqual(
      [aggregate!.name, aggregate!.inputs, aggregate!.outputs],
      ['aggregate(3)', 10, 4],
    );
    assert.deepEqual([square!.inputs, square!.outputs], [4, 4]);
    assert.deepEqual(
      [disaggregate!.name, disaggregate!.inputs, disaggregate!.outputs],
      ['disaggregate', 4, 10],
    );
  });

  test('disaggregate flattens any iterable item; an empty one yields nothing', async () => {
    const sets = [new Set([1, 2]), [], [3]];
    assert.deepEqual(await collect(pipeline(sets).disaggregate().build()), [1, 2, 3]);
  });
});
