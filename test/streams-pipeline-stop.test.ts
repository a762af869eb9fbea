import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { KeelError, pipeline } from 'keel';
import { rejectionOf } from './helpers.ts';
import { Gate, collect, drain, range } from './pipeline-helpers.ts';

/** An endless source that counts how many items were pulled and whether its finally ran. */
function countingSource(): {
  source: Generator<number>;
  pulled: () => number;
  ended: () => boolean;
} {
  let pulled = 0;
  let ended = false;
  function* generate(): Generator<number> {
    try {
      for (;;) yield pulled++;
    } finally {
      ended = true;
    }
  }
  return { source: generate(), pulled: () => pulled, ended: () => ended };
}

describe('pipeline: break, return and dispose', () => {
  test('break ends the source (its finally runs) and no stage call happens after it', async () => {
    const { source, ended } = countingSource();
    let calls = 0;
    const p = pipeline(source)
      .pipe(
        async (value: number) => {
          calls++;
          await sleep(1);
          return value;
        },
        { concurrency: 3 },
      )
      .pipe((value) => value * 2)
      .build();
    for await (const value of p) {
      if (value === 20) break;
    }
    // return(), which break calls, resolved: the source was ended and in-flight calls settled.
    assert.equal(ended(), true);
    const callsAtBreak = calls;
    await sleep(50);
    assert.equal(calls, callsAtBreak, 'no call started after break');
    assert.deepEqual(await p.next(), { done: true, value: undefined });
  });

  test('an async generator source is ended too; return() before the first next() never opens it', async () => {
    let finallyRan = false;
    async function* source(): AsyncGenerator<number> {
      try {
        for (let index = 0; ; index++) {
          await sleep(1);
          yield index;
        }
      } finally {
        finallyRan = true;
      }
    }
    const p = pipeline(source())
      .pipe((value) => value)
      .build();
    assert.deepEqual(await p.next(), { done: false, value: 0 });
    assert.deepEqual(await p.return(), { done: true, value: undefined });
    assert.equal(finallyRan, true);

    let opened = false;
    const lazy = {
      *[Symbol.iterator](): Generator<number> {
        opened = true;
        yield 1;
      },
    };
    const never = pipeline(lazy).build();
    await never.return();
    assert.deepEqual(await never.next(), { done: true, value: undefined });
    assert.equal(opened, false);
  });

  test('return() waits a bounded time for a source stuck inside next(); the source is ended once it moves on', async () => {
    const gate = new Gate();
    let finallyRan = false;
    async function* source(): AsyncGenerator<number> {
      try {
        yield 0;
        await gate.wait(); // data that is slow to come
        yield 1;
      } finally {
        finallyRan = true;
      }
    }
    const p = pipeline(source()).build();
    assert.deepEqual(await p.next(), { done: false, value: 0 });
    await sleep(10); // the pipeline is now waiting inside the source's next()
    // The grace timer is unref'd: this one keeps the test's process alive meanwhile.
    const keepAlive = setTimeout(() => undefined, 10_000);
    await p.return(); // after about 1 s, not never
    clearTimeout(keepAlive);
    assert.equal(finallyRan, false);
    gate.open();
    for (let round = 0; round < 100 && !finallyRan; round++) await sleep(1);
    assert.equal(finallyRan, true, 'the queued return() ended the source once next() settled');
  });

  test('return() waits for local calls in flight; what the source throws in return() is rethrown', async () => {
    const gate = new Gate();
    let settledCalls = 0;
    const p = pipeline(range(10))
      .pipe(
        async (value) => {
          await gate.wait();
          settledCalls++;
          return value;
        },
        { concurrency: 2 },
      )
      .build();
    const pending = p.next();
    await sleep(10);
    const returned = p.return();
    setTimeout(() => {
      gate.open();
    }, 20);
    await returned;
    assert.equal(settledCalls, 2, 'both calls in flight had settled when return() resolved');
    assert.deepEqual(await pending, { done: true, value: undefined });

    const finallyError = new Error('cleanup failed');
    function* source(): Generator<number> {
      try {
        yield* range(100);
      } finally {
        // eslint-disable-next-line no-unsafe-finally
        throw finallyError;
      }
    }
    const q = pipeline(source()).build();
    await q.next();
    assert.equal(await rejectionOf(q.return()), finallyError);
  });

  test('await using disposes of the pipeline as return() does', async () => {
    const { source, ended } = countingSource();
    {
      await using p = pipeline(source).build();
      assert.deepEqual(await p.next(), { done: false, value: 0 });
    }
    assert.equal(ended(), true);
  });

  test('a pipeline runs once: a new for await after its end rejects with ERR_CLOSED', async () => {
    const p = pipeline([1, 2, 3]).build();
    assert.deepEqual(await collect(p), [1, 2, 3]);
    const error = await rejectionOf(collect(p));
    assert.ok(error instanceof KeelError);
    assert.equal(error.code, 'ERR_CLOSED');
    // The builder builds again, for a new run.
    const builder = pipeline([1, 2, 3]).pipe((value) => value + 1);
    assert.deepEqual(await collect(builder.build()), [2, 3, 4]);
    assert.deepEqual(await collect(builder.build()), [2, 3, 4]);
  });

  test('a pipeline dropped mid-way is stopped once garbage-collected: its source is ended', async () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    assert.ok(gc, 'the tests run with --expose-gc');
    const { source, ended } = countingSource();
    await (async () => {
      const p = pipeline(source)
        .pipe((value: number) => value)
        .build();
      await p.next();
    })();
    for (let round = 0; round < 50 && !ended(); round++) {
      gc();
      await sleep(5);
    }
    assert.equal(ended(), true);
  });

  test('a for await may continue a pipeline started with next()', async () => {
    const p = pipeline(range(5)).build();
    assert.deepEqual(await p.next(), { done: false, value: 0 });
    assert.deepEqual(await collect(p), [1, 2, 3, 4]);
  });
});

/**
 * An endless async source that counts the items pulled. It yields to the event loop between
 * items, so that a pipeline without backpressure would fail the assertions instead of
 * starving the loop.
 */
function endlessAsyncSource(): { source: AsyncGenerator<number>; pulled: () => number } {
  let pulled = 0;
  async function* generate(): AsyncGenerator<number> {
    for (;;) {
      await new Promise((resolve) => setImmediate(resolve));
      yield pulled++;
    }
  }
  return { source: generate(), pulled: () => pulled };
}

describe('pipeline: backpressure', () => {
  test('a fast endless source is pulled only a bounded number of items ahead of a slow consumer', async () => {
    const { source, pulled } = endlessAsyncSource();
    const buffer = 2;
    const p = pipeline(source)
      .pipe((value: number) => value, { concurrency: 4 })
      .pipe(async (value: number) => value, { concurrency: 2 })
      .build({ buffer });
    // Items can wait in 3 channels (source -> stage 1 -> stage 2 -> consumer) and be held by
    // the stages (their concurrency).
    const bound = buffer * 3 + 4 + 2;
    let consumed = 0;
    for await (const _ of p) {
      consumed++;
      await sleep(5);
      assert.ok(pulled() - consumed <= bound, `pulled ${pulled()}, consumed ${consumed}`);
      if (consumed === 20) break;
    }
    await sleep(30);
    assert.ok(pulled() <= 20 + bound, `pulled ${pulled()} for 20 consumed`);
  });

  test('while the consumer does not ask, the stages stop once the buffers are full', async () => {
    const { source, pulled } = endlessAsyncSource();
    let calls = 0;
    const p = pipeline(source)
      .pipe((value: number) => {
        calls++;
        return value;
      })
      .build({ buffer: 1 });
    await p.next();
    await sleep(50);
    const [pulledBefore, callsBefore] = [pulled(), calls];
    await sleep(50);
    assert.equal(pulled(), pulledBefore, 'the source is no longer pulled');
    assert.equal(calls, callsBefore, 'the stage no longer runs');
    assert.ok(pulledBefore <= 1 + 1 + 1 + 1, `pulled ${pulledBefore}`);
    await p.return();
  });
});

describe('pipeline: abort signal', () => {
  test('an abort ends the iteration with the signal reason and ends the source', async () => {
    const { source, ended } = countingSource();
    const controller = new AbortController();
    const reason = new Error('operator stop');
    const p = pipeline(source)
      .pipe(async (value: number) => {
        await sleep(1);
        return value;
      })
      .build({ signal: controller.signal });
    const { items, error } = await drain(
      (async function* () {
        for await (const value of p) {
          if (value === 3) controller.abort(reason);
          yield value;
        }
      })(),
    );
    assert.equal(error, reason);
    assert.deepEqual(items, [0, 1, 2, 3]);
    await p.return(); // waits for the wind-down the abort started
    assert.equal(ended(), true);
  });

  test('an abort rejects a next() that waits, at once', async () => {
    const controller = new AbortController();
    const gate = new Gate();
    const p = pipeline([1])
      .pipe(async (value) => {
        await gate.wait();
        return value;
      })
      .build({ signal: controller.signal });
    const pending = p.next();
    setTimeout(() => {
      controller.abort();
    }, 10);
    const error = await rejectionOf(pending);
    assert.ok(error instanceof DOMException);
    assert.equal(error.name, 'AbortError');
    gate.open();
    await p.return();
  });

  test('a signal aborted before the start rejects the first next() and never opens the source', async () => {
    let opened = false;
    const source = {
      *[Symbol.iterator](): Generator<number> {
        opened = true;
        yield 1;
      },
    };
    const reason = new Error('too late');
    const p = pipeline(source).build({ signal: AbortSignal.abort(reason) });
    assert.equal(await rejectionOf(p.next()), reason);
    assert.equal(opened, false);
    assert.deepEqual(await p.next(), { done: true, value: undefined });
  });
});
