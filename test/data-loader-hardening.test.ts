/**
 * DataLoader against careless and hostile input (issue 13): long and infinite timeouts, huge
 * worker counts, misspelled keys, and two epochs iterated at once.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DataLoader, KeelError } from 'keel';
import { rejectionOf } from './helpers.ts';
import {
  collect,
  dataset,
  datasetUrl,
  epochIndices,
  makeLoader,
  range,
} from './data-loader-helpers.ts';

const kTestTimeout = { timeout: 60_000 };

/** Asserts that these options make the constructor throw ERR_INVALID_ARGUMENT matching `message`. */
function assertRefused(options: Record<string, unknown>, message: RegExp): void {
  const good = { dataset: dataset({ length: 4 }), batchSize: 2 };
  assert.throws(
    () => new DataLoader({ ...good, ...options }),
    (error: unknown) =>
      error instanceof KeelError &&
      error.code === 'ERR_INVALID_ARGUMENT' &&
      message.test(error.message),
    `${JSON.stringify(options)} should be refused with ${String(message)}`,
  );
}

describe('DataLoader hardening: options', () => {
  test('numWorkers far above the machine (1e9) is refused at once, before any worker starts', () => {
    const startedMs = performance.now();
    assertRefused({ numWorkers: 1e9 }, /^numWorkers must be at most \d+ \(16 per CPU/);
    assertRefused({ numWorkers: 100_000 }, /^numWorkers must be at most/);
    assert.ok(performance.now() - startedMs < 1000);
  });

  test('null is a value given, not "use the default": refused for every size', () => {
    assertRefused({ numWorkers: null }, /^numWorkers must be a positive integer, got null/);
    assertRefused({ chunkSize: null }, /^chunkSize must be an integer from 1 to 2, got null/);
    assertRefused({ prefetch: null }, /^prefetch must be a positive integer, got null/);
  });

  test('misspelled and unknown keys are refused with the closest valid key', () => {
    assertRefused(
      { numWorker: 2 },
      /options\.numWorker is not an option; did you mean numWorkers\?/,
    );
    assertRefused({ prefech: 2 }, /did you mean prefetch\?/);
    assertRefused({ timeout: 100 }, /did you mean timeoutMs\?/);
    // A pipeline option, not a loader one: refused, not silently ignored.
    assertRefused({ maxFailures: 3 }, /options\.maxFailures is not an option/);
    assertRefused(
      { dataset: { module: datasetUrl, factroy: 'makeDataset' } },
      /dataset\.factroy is not an option; did you mean factory\?/,
    );
    assertRefused(
      { collate: { module: datasetUrl, exprt: 'valuesAndLabels' } },
      /collate\.exprt is not an option; did you mean export\?/,
    );
    assertRefused(
      { workerInit: { modul: datasetUrl, export: 'init' } },
      /workerInit\.modul is not an option; did you mean module\?/,
    );
  });

  test('timeouts that are not a number of ms >= 0 are refused; Infinity and 2^31 are accepted', () => {
    for (const timeoutMs of [NaN, -1, 'abc', null]) {
      assertRefused({ timeoutMs }, /^timeoutMs must be a number of milliseconds >= 0/);
    }
    for (const timeoutMs of [0, 2 ** 31, Infinity]) {
      new DataLoader({ dataset: dataset({ length: 4 }), batchSize: 2, timeoutMs });
    }
  });

  test('close() with bad options rejects with a KeelError (close(null) used to throw a TypeError)', async () => {
    const loader = makeLoader({ length: 4 }, { batchSize: 2 });
    for (const [options, message] of [
      [null, /^options must be an object, got null/],
      [{ timeout: 5 }, /did you mean timeoutMs\?/],
      [{ timeoutMs: NaN }, /^timeoutMs must be/],
      [{ timeoutMs: -1 }, /^timeoutMs must be/],
    ] as const) {
      const error = await rejectionOf(loader.close(options as never));
      assert.ok(error instanceof KeelError, `a KeelError for ${JSON.stringify(options)}`);
      assert.equal(error.code, 'ERR_INVALID_ARGUMENT');
      assert.match(error.message, message);
    }
    await loader.close({ timeoutMs: Infinity });
  });

  test(
    'a dataset claiming 2^32 - 1 items is refused before its epoch order is allocated (16 GiB)',
    kTestTimeout,
    async () => {
      await using loader = makeLoader({ length: 2 ** 32 - 1 }, { batchSize: 2 });
      const error = await rejectionOf(loader[Symbol.asyncIterator]().next());
      assert.ok(error instanceof KeelError, `got ${String(error)}`);
      assert.equal(error.code, 'ERR_INVALID_ARGUMENT');
      assert.match(error.message, /the dataset's length must be at most \d+ on this machine/);
    },
  );
});

describe('DataLoader hardening: timeouts', () => {
  for (const timeoutMs of [2 ** 31, Infinity]) {
    test(
      `timeoutMs ${timeoutMs} does not time out batches that take 50 ms (it used to fire after ~1 ms)`,
      kTestTimeout,
      async () => {
        await using loader = makeLoader(
          { length: 6, delayMsByWorker: [50] },
          { batchSize: 2, timeoutMs },
        );
        assert.deepEqual(await epochIndices(loader), [
          [0, 1],
          [2, 3],
          [4, 5],
        ]);
      },
    );
  }
});

describe('DataLoader hardening: one epoch at a time', () => {
  for (const persistentWorkers of [false, true]) {
    test(
      `a second iteration while one runs is refused with ERR_INVALID_ARGUMENT; the first completes its epoch (persistentWorkers: ${persistentWorkers})`,
      kTestTimeout,
      async () => {
        await using loader = makeLoader(
          { length: 12 },
          { batchSize: 2, numWorkers: 2, persistentWorkers },
        );
        const first = loader[Symbol.asyncIterator]();
        const firstBatch = await first.next();
        assert.equal(firstBatch.done, false);
        const error = await rejectionOf(collect(loader));
        assert.ok(error instanceof KeelError);
        assert.equal(error.code, 'ERR_INVALID_ARGUMENT');
        assert.match(error.message, /epoch 0 of this DataLoader is still being iterated/);
        const seen = [Array.from(firstBatch.value.index.data)];
        for (let step = await first.next(); !step.done; step = await first.next()) {
          seen.push(Array.from(step.value.index.data));
        }
        assert.deepEqual(seen.flat(), range(12), 'the first epoch got every batch');
        // Sequential epochs still work: after the end, and after a break.
        assert.equal((await collect(loader)).length, 6);
        for await (const batch of loader) {
          assert.ok(batch);
          break;
        }
        assert.equal((await collect(loader)).length, 6);
      },
    );
  }

  test(
    'two iterators made before either started: the one that starts second is refused',
    kTestTimeout,
    async () => {
      await using loader = makeLoader({ length: 4 }, { batchSize: 2 });
      const a = loader[Symbol.asyncIterator]();
      const b = loader[Symbol.asyncIterator]();
      const first = a.next();
      const error = await rejectionOf(b.next());
      assert.ok(error instanceof KeelError);
      assert.equal(error.code, 'ERR_INVALID_ARGUMENT');
      assert.deepEqual(await b.next(), { done: true, value: undefined });
      assert.equal((await first).done, false);
      assert.equal((await a.next()).done, false);
      assert.equal((await a.next()).done, true);
    },
  );

  test(
    'an iterator made and never used holds nothing: a later epoch runs',
    kTestTimeout,
    async () => {
      await using loader = makeLoader({ length: 4 }, { batchSize: 2 });
      loader[Symbol.asyncIterator]();
      assert.equal((await collect(loader)).length, 2);
    },
  );

  test('return() frees the loader at once, even before it resolves', kTestTimeout, async () => {
    await using loader = makeLoader(
      { length: 8 },
      { batchSize: 2, numWorkers: 2, persistentWorkers: true },
    );
    const first = loader[Symbol.asyncIterator]();
    assert.equal((await first.next()).done, false);
    const returned = first.return();
    assert.equal((await collect(loader)).length, 4);
    await returned;
  });
});
