// DataLoader({ kind: 'process' }): the loader's workers are child processes (SPEC §4, §7). A child
// cannot share memory with the test, so a worker says "I reached blockAt" by writing its pid to
// a file in a temp dir of the test (fixtures/loader-process-dataset.mjs).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Arena, DataLoader, KeelError, type Collated, type DataLoaderOptions } from 'keel';
import {
  fixture,
  rejectionOf,
  eventually,
  isAlive,
  kNeedsNative,
  childPidWrittenTo,
} from './helpers.ts';

/** How long a process test waits for a child to start or end: a loaded CI machine is slow. */
const kWaitMs = 20_000;
const kTest = { timeout: 60_000 };
const datasetModule = fixture('loader-process-dataset.mjs');

const tempDir = mkdtempSync(join(tmpdir(), 'keel-loader-process-'));
after(() => {
  rmSync(tempDir, { recursive: true, force: true });
});

interface Sample {
  index: number;
  x: Float32Array;
  label: number;
  pid: number;
  worker: number;
}
type Batch = Collated<Sample>;

interface DatasetOptions {
  length: number;
  shape?: number;
  where?: boolean;
  failAt?: number;
  crashAt?: number;
  blockAt?: number;
  markFile?: string;
}

function makeLoader(
  data: DatasetOptions,
  options: Omit<DataLoaderOptions<Batch>, 'dataset'>,
): DataLoader<Batch> {
  return new DataLoader<Batch>({
    dataset: { module: datasetModule, factory: 'makeDataset', args: [data] },
    ...options,
  });
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

test('the same seed gives identical batches from thread and process workers', kTest, async () => {
  const epochs = async (kind: 'thread' | 'process') => {
    await using loader = makeLoader(
      { length: 23 },
      { kind, batchSize: 5, chunkSize: 2, numWorkers: 2, shuffle: true, seed: 11 },
    );
    return [await collect(loader), await collect(loader)];
  };
  const threads = await epochs('thread');
  const processes = await epochs('process');
  assert.equal(threads[0]!.length, 5);
  assert.notDeepEqual(
    Array.from(threads[0]![0]!.index.data),
    Array.from(threads[1]![0]!.index.data),
    'two epochs differ: the comparison is not of a fixed order',
  );
  assert.deepEqual(processes, threads);
});

test(
  'each worker is a child process that ran workerInit; persistent workers serve every epoch',
  kTest,
  async () => {
    await using loader = makeLoader(
      { length: 40, where: true },
      {
        kind: 'process',
        batchSize: 4,
        chunkSize: 1,
        numWorkers: 2,
        persistentWorkers: true,
        workerInit: { module: datasetModule, export: 'init' },
      },
    );
    const seen = async () => {
      const batches = await collect(loader);
      assert.equal(batches.length, 10);
      return {
        pids: new Set(batches.flatMap((batch) => Array.from(batch.pid.data))),
        workers: new Set(batches.flatMap((batch) => Array.from(batch.worker.data))),
      };
    };
    const first = await seen();
    assert.equal(first.pids.size, 2, 'two children loaded samples');
    assert.ok(!first.pids.has(process.pid));
    assert.deepEqual([...first.workers].sort(), [0, 1], 'workerInit ran in each, with its index');
    const second = await seen();
    assert.deepEqual(second.pids, first.pids, 'the same children served the second epoch');
  },
);

test(
  'an error thrown in getItem in a child rejects the epoch with its class, message and cause',
  kTest,
  async () => {
    await using loader = makeLoader(
      { length: 20, failAt: 9 },
      { kind: 'process', batchSize: 4, numWorkers: 2 },
    );
    const error = await rejectionOf(collect(loader));
    assert.ok(error instanceof RangeError);
    assert.equal(error.message, 'bad index 9');
    assert.equal((error.cause as Error).message, 'the root cause');
    assert.match(error.stack ?? '', /loader-process-dataset\.mjs/, 'the worker frames');
  },
);

test('a child that exits in getItem rejects the epoch with ERR_WORKER_EXITED', kTest, async () => {
  await using loader = makeLoader(
    { length: 20, crashAt: 6 },
    { kind: 'process', batchSize: 4, numWorkers: 2 },
  );
  const error = await rejectionOf(collect(loader));
  assert.ok(error instanceof KeelError);
  assert.equal(error.code, 'ERR_WORKER_EXITED');
  assert.match(error.message, /code 7/);
});

test(
  'a child SIGKILLed mid-epoch rejects the iteration with ERR_WORKER_EXITED, without hanging',
  kTest,
  async () => {
    const markFile = join(tempDir, 'killed-mid-epoch');
    await using loader = makeLoader(
      { length: 40, blockAt: 9, markFile },
      { kind: 'process', batchSize: 4, numWorkers: 2 },
    );
    const failure = rejectionOf(collect(loader));
    const pid = await childPidWrittenTo(markFile);
    const killedAt = Date.now();
    process.kill(pid, 'SIGKILL');
    const error = (await failure) as KeelError;
    assert.ok(error instanceof KeelError);
    assert.equal(error.code, 'ERR_WORKER_EXITED');
    assert.match(error.message, /SIGKILL/);
    assert.ok(Date.now() - killedAt < 20_000);
  },
);

test(
  'close() ends the children, a pending next() rejects with ERR_CLOSED, and so does a new epoch',
  kTest,
  async () => {
    const markFile = join(tempDir, 'closed-mid-epoch');
    const loader = makeLoader(
      { length: 40, blockAt: 13, markFile, where: true },
      { kind: 'process', batchSize: 4, numWorkers: 1 },
    );
    const iterator = loader[Symbol.asyncIterator]();
    const first = await iterator.next();
    assert.equal(first.done, false);
    const pending = rejectionOf(collect({ [Symbol.asyncIterator]: () => iterator }));
    const pid = await childPidWrittenTo(markFile);
    assert.equal(pid, first.value.pid.data[0]);
    await loader.close({ timeoutMs: 200 });
    assert.equal(((await pending) as KeelError).code, 'ERR_CLOSED');
    await eventually(() => !isAlive(pid), `the child ${pid} is gone`, kWaitMs);
    const after = await rejectionOf(collect(loader));
    assert.equal((after as KeelError).code, 'ERR_CLOSED');
  },
);

test(
  'with an arena, chunks cross from children through it and batches are joined into it',
  { ...kTest, ...kNeedsNative },
  async () => {
    const arena = new Arena({ bytes: 1 << 22, minBytes: 256 });
    try {
      const options = { batchSize: 8, chunkSize: 4, numWorkers: 2, shuffle: true, seed: 3 };
      await using plain = makeLoader({ length: 30, shape: 64 }, options);
      await using shared = makeLoader(
        { length: 30, shape: 64 },
        { ...options, kind: 'process', arena },
      );
      const expected = await collect(plain);
      const batches = await collect(shared);
      assert.equal(batches.length, 4);
      assert.ok(
        batches[0]!.x.data.buffer instanceof SharedArrayBuffer,
        'a batch of two chunks was joined into the arena',
      );
      assert.deepEqual(
        batches.map((batch) => ({ ...batch, x: { ...batch.x, data: Array.from(batch.x.data) } })),
        expected.map((batch) => ({ ...batch, x: { ...batch.x, data: Array.from(batch.x.data) } })),
      );
      // One chunk per batch: the batch is the child's own chunk, crossed through the arena.
      await using whole = makeLoader(
        { length: 30, shape: 64 },
        { ...options, chunkSize: 8, kind: 'process', arena },
      );
      const fallbacksBefore = arena.stats().fallbacks;
      const wholeBatches = await collect(whole);
      assert.ok(wholeBatches[0]!.x.data.buffer instanceof SharedArrayBuffer);
      assert.equal(arena.stats().fallbacks, fallbacksBefore, 'nothing was copied instead');
      assert.deepEqual(
        wholeBatches.map((batch) => Array.from(batch.x.data)),
        expected.map((batch) => Array.from(batch.x.data)),
      );
    } finally {
      arena.close();
    }
  },
);

test("kind must be 'thread' or 'process': anything else is refused before any worker starts", () => {
  for (const kind of ['proc', 'threads', null, 0]) {
    assert.throws(
      () => makeLoader({ length: 4 }, { batchSize: 2, kind } as never),
      (error: unknown) =>
        error instanceof KeelError &&
        error.code === 'ERR_INVALID_ARGUMENT' &&
        /^kind must be 'thread' or 'process', got /.test(error.message),
    );
  }
  assert.throws(
    () => makeLoader({ length: 4 }, { batchSize: 2, knd: 'process' } as never),
    /did you mean kind\?/,
  );
});
