import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DataLoader, KeelError } from 'keel';
import { fixture, rejectionOf, runScript } from './helpers.ts';
import {
  RequestLog,
  collect,
  counterReaches,
  dataset,
  datasetUrl,
  makeLoader,
  range,
  sleep,
} from './data-loader-helpers.ts';

const kTestTimeout = { timeout: 60_000 };

describe('DataLoader: errors', () => {
  test(
    'an error thrown in getItem rejects the epoch with its class, message and cause',
    kTestTimeout,
    async () => {
      await using loader = makeLoader(
        { length: 20, failAt: 9 },
        { batchSize: 4, chunkSize: 2, numWorkers: 2 },
      );
      const iterator = loader[Symbol.asyncIterator]();
      const error = await rejectionOf(collect({ [Symbol.asyncIterator]: () => iterator }));
      assert.ok(error instanceof RangeError, 'the same built-in class');
      assert.equal(error.message, 'bad index 9');
      assert.ok(error.cause instanceof Error);
      assert.equal(error.cause.message, 'the root cause');
      assert.match(error.stack ?? '', /loader-dataset\.mjs/, 'the worker frames');
      assert.deepEqual(await iterator.next(), { done: true, value: undefined }, 'then done');
      // The loader itself is still usable: a new epoch starts new workers.
      const again = await rejectionOf(collect(loader));
      assert.ok(again instanceof RangeError);
    },
  );

  test(
    'a worker that exits in getItem rejects with ERR_WORKER_EXITED, without hanging',
    kTestTimeout,
    async () => {
      await using loader = makeLoader({ length: 20, crashAt: 6 }, { batchSize: 4, numWorkers: 2 });
      const error = await rejectionOf(collect(loader));
      assert.ok(error instanceof KeelError);
      assert.equal(error.code, 'ERR_WORKER_EXITED');
      assert.match(error.message, /7/, 'names the exit code');
    },
  );

  test(
    'a batch that takes longer than timeoutMs rejects with ERR_TIMEOUT',
    kTestTimeout,
    async () => {
      await using loader = makeLoader(
        { length: 20, hangAt: 5 },
        { batchSize: 4, numWorkers: 2, timeoutMs: 3000 },
      );
      const iterator = loader[Symbol.asyncIterator]();
      assert.deepEqual(Array.from((await iterator.next()).value!.index.data), [0, 1, 2, 3]);
      const error = await rejectionOf(iterator.next());
      assert.ok(error instanceof KeelError);
      assert.equal(error.code, 'ERR_TIMEOUT');
      assert.equal(error.name, 'TimeoutError');
      assert.deepEqual(await iterator.next(), { done: true, value: undefined });
    },
  );

  test(
    'a dataset module that does not exist rejects the first next() with ERR_NOT_FOUND',
    kTestTimeout,
    async () => {
      await using loader = new DataLoader({
        dataset: fixture('no-such-dataset.mjs'),
        batchSize: 2,
      });
      const error = await rejectionOf(collect(loader));
      assert.ok(error instanceof KeelError);
      assert.equal(error.code, 'ERR_NOT_FOUND');
    },
  );

  test(
    'a workerInit that throws rejects with ERR_START_FAILED carrying the error',
    kTestTimeout,
    async () => {
      await using loader = makeLoader(
        { length: 4 },
        { batchSize: 2, workerInit: { module: datasetUrl, export: 'failingInit' } },
      );
      const error = await rejectionOf(collect(loader));
      assert.ok(error instanceof KeelError);
      assert.equal(error.code, 'ERR_START_FAILED');
      assert.ok(error.cause instanceof TypeError);
      assert.equal(error.cause.message, 'init refused');
    },
  );

  test('bad options throw ERR_INVALID_ARGUMENT naming the option', () => {
    const good = { dataset: dataset({ length: 4 }), batchSize: 2 };
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ batchSize: 0 }, /batchSize must be a positive integer, got 0/],
      [{ batchSize: 1.5 }, /batchSize/],
      [{ numWorkers: 0 }, /numWorkers must be a positive integer/],
      [{ chunkSize: 3 }, /chunkSize must be an integer from 1 to 2, got 3/],
      [{ prefetch: 0 }, /prefetch/],
      [{ seed: -1 }, /seed must be a non-negative safe integer/],
      [{ shuffle: 'yes' }, /shuffle must be a boolean/],
      [{ dropLast: 1 }, /dropLast must be a boolean/],
      [{ ordered: null }, /ordered must be a boolean/],
      [{ persistentWorkers: 'no' }, /persistentWorkers must be a boolean/],
      [{ timeoutMs: -1 }, /timeoutMs must be a number of milliseconds >= 0/],
      [{ dataset: './relative.mjs' }, /dataset must be an absolute path/],
      [{ dataset: 42 }, /dataset must be a module reference/],
      [
        { dataset: { module: datasetUrl, factory: 3 } },
        /dataset\.factory must be a non-empty string/,
      ],
      [{ dataset: { module: datasetUrl, args: 'x' } }, /dataset\.args must be an array/],
      [{ collate: 42 }, /collate must be \{ module, export \}/],
      [{ collate: { module: datasetUrl } }, /collate\.export must be a non-empty string/],
      [{ workerInit: { module: 'relative.mjs', export: 'init' } }, /workerInit\.module/],
      [{ arena: 5 }, /arena must be an Arena or arena options/],
    ];
    for (const [override, message] of cases) {
      assert.throws(
        () => new DataLoader({ ...good, ...override }),
        (error: unknown) =>
          error instanceof KeelError &&
          error.code === 'ERR_INVALID_ARGUMENT' &&
          message.test(error.message),
        `${JSON.stringify(override)} should be refused with ${String(message)}`,
      );
    }
    assert.throws(() => new DataLoader(null as never), { code: 'ERR_INVALID_ARGUMENT' });
  });
});

describe('DataLoader: backpressure, stopping and closing', () => {
  test(
    'at most prefetch batches are loaded ahead of a consumer that stops reading',
    kTestTimeout,
    async () => {
      const log = new RequestLog(200);
      await using loader = makeLoader(
        { length: 200, log: log.buffer },
        { batchSize: 4, chunkSize: 2, numWorkers: 2, prefetch: 3 },
      );
      const iterator = loader[Symbol.asyncIterator]();
      await iterator.next();
      // One batch taken, three more may load: 16 items, never more.
      await log.reach(16);
      await sleep(300);
      assert.equal(log.total, 16);
      await iterator.next();
      await log.reach(20);
      await sleep(300);
      assert.equal(log.total, 20);
      assert.ok(
        range(20).every((index) => log.callsFor(index) === 1),
        'each index requested once',
      );
      await iterator.return();
    },
  );

  for (const persistentWorkers of [false, true]) {
    test(
      `breaking out of the loop stops loading (persistentWorkers ${persistentWorkers})`,
      kTestTimeout,
      async () => {
        const log = new RequestLog(400);
        await using loader = makeLoader(
          { length: 400, log: log.buffer },
          { batchSize: 4, chunkSize: 2, numWorkers: 2, prefetch: 2, persistentWorkers },
        );
        let taken = 0;
        for await (const batch of loader) {
          assert.equal(batch.index.data.length, 4);
          if (++taken === 3) break;
        }
        const requested = log.total;
        assert.ok(requested <= (3 + 2) * 4, `${requested} items were requested`);
        await sleep(300);
        assert.equal(log.total, requested, 'no item requested after the break');
        // The next epoch starts from the beginning and runs to the end.
        const rest = await collect(loader);
        assert.equal(rest.length, 100);
      },
    );
  }

  test('iterating after close() rejects with ERR_CLOSED', kTestTimeout, async () => {
    const loader = makeLoader({ length: 8 }, { batchSize: 4 });
    assert.equal((await collect(loader)).length, 2);
    await loader.close();
    const error = await rejectionOf(collect(loader));
    assert.ok(error instanceof KeelError);
    assert.equal(error.code, 'ERR_CLOSED');
    await loader.close();
  });

  test('close() during a pending next() rejects it with ERR_CLOSED', kTestTimeout, async () => {
    const loader = makeLoader({ length: 8, hangAt: 0 }, { batchSize: 4 });
    const pending = rejectionOf(loader[Symbol.asyncIterator]().next());
    await sleep(200);
    await loader.close({ timeoutMs: 100 });
    const error = await pending;
    assert.ok(error instanceof KeelError);
    assert.equal(error.code, 'ERR_CLOSED');
  });

  test(
    'a new epoch started before the previous one finished is refused; the first one goes on',
    kTestTimeout,
    async () => {
      await using loader = makeLoader(
        { length: 12 },
        { batchSize: 4, numWorkers: 2, persistentWorkers: true },
      );
      const first = loader[Symbol.asyncIterator]();
      assert.equal((await first.next()).done, false);
      const error = await rejectionOf(collect(loader));
      assert.ok(error instanceof KeelError);
      assert.equal(error.code, 'ERR_INVALID_ARGUMENT');
      assert.equal((await first.next()).done, false);
      assert.equal((await first.next()).done, false);
      assert.deepEqual(await first.next(), { done: true, value: undefined });
      assert.equal((await collect(loader)).length, 3, 'the next epoch, after the first ended');
    },
  );

  // Infinity: no time limit (it used to fire after ~1 ms and kill the workers).
  for (const timeoutMs of [undefined, Infinity]) {
    test(
      `close(${timeoutMs === undefined ? '' : '{ timeoutMs: Infinity }'}) ends the workers gracefully: the dataset of each is disposed`,
      kTestTimeout,
      async () => {
        const disposals = new Int32Array(new SharedArrayBuffer(4));
        const loader = makeLoader(
          { length: 8, disposals: disposals.buffer },
          { batchSize: 4, numWorkers: 2, persistentWorkers: true },
        );
        assert.equal((await collect(loader)).length, 2);
        assert.equal(Atomics.load(disposals, 0), 0, 'persistent workers are kept after the epoch');
        await loader.close(timeoutMs === undefined ? undefined : { timeoutMs });
        assert.equal(Atomics.load(disposals, 0), 2);
      },
    );
  }

  test(
    'without persistentWorkers, the workers end (disposing their dataset) before the epoch reports done',
    kTestTimeout,
    async () => {
      const disposals = new Int32Array(new SharedArrayBuffer(4));
      await using loader = makeLoader(
        { length: 8, disposals: disposals.buffer },
        { batchSize: 4, numWorkers: 2 },
      );
      assert.equal((await collect(loader)).length, 2);
      assert.equal(Atomics.load(disposals, 0), 2);
    },
  );

  test(
    'a loader dropped without close() ends its workers once it is garbage-collected',
    kTestTimeout,
    async () => {
      const gc = (globalThis as { gc?: () => void }).gc;
      assert.ok(gc, 'the tests run with --expose-gc');
      const disposals = new Int32Array(new SharedArrayBuffer(4));
      await (async () => {
        const loader = makeLoader(
          { length: 8, disposals: disposals.buffer },
          { batchSize: 4, numWorkers: 2, persistentWorkers: true },
        );
        assert.equal((await collect(loader)).length, 2);
      })();
      await counterReaches(disposals, 2, 20_000, gc);
    },
  );

  test('a process with un-closed loaders (plain, persistent, broken out of) exits by itself', () => {
    const result = runScript('unclosed-loader.mjs');
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.trim(), 'sum 82');
    assert.ok(result.ms < 15_000, `took ${result.ms} ms`);
  });
});
