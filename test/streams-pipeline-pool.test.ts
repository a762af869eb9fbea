import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Arena, KeelError, Pool, pipeline, task } from 'keel';
import { Flags, fixture, runScript } from './helpers.ts';
import { collect, drain, range } from './pipeline-helpers.ts';

type Tasks = typeof import('./fixtures/pipeline-tasks.mjs');
const tasksUrl = fixture('pipeline-tasks.mjs');

describe('pipeline: task stages on a pool', () => {
  const pool = new Pool({ minThreads: 2, maxThreads: 2 });
  after(() => pool.close());

  test('a task stage runs the export on worker threads, with the item as its argument', async () => {
    const p = pipeline(range(12))
      .pipe(task<Tasks, 'tagWithThread'>(tasksUrl, 'tagWithThread', { pool }), { concurrency: 2 })
      .build();
    const outputs = await collect(p);
    assert.deepEqual(
      outputs.map((output) => output.value),
      range(12),
    );
    for (const output of outputs) assert.notEqual(output.threadId, 0, 'ran off the main thread');
    assert.equal(p.stats()[0]!.name, 'tagWithThread');
  });

  test('ordered task results come in source order whatever each one takes', async () => {
    const delaysMs = [30, 1, 20, 1, 10, 1, 5, 1];
    const p = pipeline(delaysMs.map((delayMs, value) => ({ value, delayMs })))
      .pipe(task<Tasks, 'delayedSquare'>(tasksUrl, 'delayedSquare', { pool }), { concurrency: 2 })
      .pipe((square) => square + 1)
      .build();
    assert.deepEqual(
      await collect(p),
      range(8).map((value) => value * value + 1),
    );
  });

  test('a pool passed by the user stays open after the pipeline ends, fails or is broken out of', async () => {
    const double = task<Tasks, 'double'>(tasksUrl, 'double', { pool });
    assert.deepEqual(await collect(pipeline([1, 2]).pipe(double).build()), [2, 4]);
    for await (const value of pipeline(range(100)).pipe(double).build()) {
      if (value === 4) break;
    }
    const failing = pipeline([1])
      .pipe(task(tasksUrl, 'evenOnly', { pool }))
      .build();
    assert.equal((await drain(failing)).failed, true);
    assert.equal(await pool.run(tasksUrl, 'double', [21]), 42);
  });

  test('a worker error keeps its class, message, cause and the worker stack', async () => {
    const p = pipeline([2, 4, 5, 6])
      .pipe(task<Tasks, 'evenOnly'>(tasksUrl, 'evenOnly', { pool }))
      .build();
    const { items, error } = await drain(p);
    assert.deepEqual(items, [2, 4].slice(0, items.length));
    assert.ok(error instanceof RangeError, `got ${String(error)}`);
    assert.equal(error.message, 'odd 5');
    assert.ok(error.cause instanceof Error);
    assert.equal(error.cause.message, 'because of 5');
    assert.match(error.stack ?? '', /pipeline-tasks\.mjs/);
  });

  test('a missing export and an item that cannot cross are failures with keel codes', async () => {
    const missing = pipeline([1])
      .pipe(task(tasksUrl, 'noSuchExport', { pool }))
      .build();
    const notFound = (await drain(missing)).error;
    assert.ok(notFound instanceof KeelError, `got ${String(notFound)}`);
    assert.equal(notFound.code, 'ERR_NOT_FOUND');
    const uncloneable = pipeline([{ value: 1, callback: () => 1 }])
      .pipe(task(tasksUrl, 'double', { pool }))
      .build();
    const notCloneable = (await drain(uncloneable)).error;
    assert.ok(notCloneable instanceof KeelError);
    assert.equal(notCloneable.code, 'ERR_NOT_CLONEABLE');
  });

  test('tolerated task failures drop their items', async () => {
    const p = pipeline(range(10))
      .pipe(task<Tasks, 'evenOnly'>(tasksUrl, 'evenOnly', { pool }), { concurrency: 2 })
      .build({ maxFailures: 5 });
    assert.deepEqual(await collect(p), [0, 2, 4, 6, 8]);
    assert.equal(p.stats()[0]!.failures, 5);
  });

  test('stopping the pipeline aborts a pool task in flight; the pool keeps serving', async () => {
    const flags = new Flags();
    const p = pipeline([flags.buffer])
      .pipe(task<Tasks, 'holdUntilReleased'>(tasksUrl, 'holdUntilReleased', { pool }))
      .build();
    const pending = p.next();
    await flags.started();
    // Never released: return() can only resolve because the task was aborted.
    await p.return();
    assert.deepEqual(await pending, { done: true, value: undefined });
    assert.equal(await pool.run(tasksUrl, 'double', [5]), 10);
    assert.equal(pool.stats().queued, 0);
  });

  test('with abortOnStop: false, stopping waits for the pool task in flight instead', async () => {
    const flags = new Flags();
    const p = pipeline([flags.buffer])
      .pipe(
        task<Tasks, 'holdUntilReleased'>(tasksUrl, 'holdUntilReleased', {
          pool,
          abortOnStop: false,
        }),
      )
      .build();
    const pending = p.next();
    await flags.started();
    let released = false;
    setTimeout(() => {
      released = true;
      flags.release();
    }, 30);
    await p.return();
    assert.equal(released, true, 'return() resolved only once the task had finished');
    assert.deepEqual(await pending, { done: true, value: undefined });
  });

  test('binary items ride the arena of a pool that has one', async () => {
    const arena = new Arena({ bytes: 4 * 2 ** 20, minBytes: 1024 });
    const arenaPool = new Pool({ maxThreads: 1, arena });
    try {
      const chunks = [1, 2, 3].map((fill) => new Uint8Array(64 * 1024).fill(fill));
      const p = pipeline(chunks)
        .pipe(task<Tasks, 'byteSum'>(tasksUrl, 'byteSum', { pool: arenaPool }))
        .build();
      const results = await collect(p);
      assert.deepEqual(
        results.map((result) => result.sum),
        [1, 2, 3].map((fill) => fill * 64 * 1024),
      );
      for (const result of results) assert.equal(result.shared, true, 'a view over the arena');
    } finally {
      await arenaPool.close();
      arena.close();
    }
  });
});

describe("pipeline: the pipeline's own pool", () => {
  test('task stages without a pool run on a pool the pipeline makes, and the arena option reaches it', async () => {
    const p = pipeline([new Uint8Array(70_000).fill(2)])
      .pipe(task<Tasks, 'byteSum'>(tasksUrl, 'byteSum'))
      .build({ arena: { bytes: 2 ** 20 } });
    assert.deepEqual(await collect(p), [{ sum: 140_000, shared: true }]);
    const q = pipeline(range(6))
      .pipe(task<Tasks, 'double'>(tasksUrl, 'double'), { concurrency: 2 })
      .build();
    assert.deepEqual(await collect(q), [0, 2, 4, 6, 8, 10]);
  });

  test('a process whose pipelines ended, were broken out of or were abandoned exits by itself', () => {
    const result = runScript('pipeline-unclosed.mjs');
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.trim(), 'sum 90, broken at 4, abandoned after 2');
    // progress: true on a stderr that is a pipe, not a terminal: nothing drawn.
    assert.equal(result.stderr, '');
    assert.ok(result.ms < 15_000, `took ${result.ms} ms`);
  });
});
