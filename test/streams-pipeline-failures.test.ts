import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { KeelError, pipeline } from 'keel';
import { rejectionOf } from './helpers.ts';
import { collect, drain, range } from './pipeline-helpers.ts';

class OddItemError extends Error {
  readonly item: number;
  constructor(item: number) {
    super(`odd ${item}`);
    this.name = 'OddItemError';
    this.item = item;
  }
}

/** Throws for odd items: a user class, so that the class kept can be checked. */
function evenOnly(value: number): number {
  if (value % 2 === 1) throw new OddItemError(value);
  return value;
}

describe('pipeline: failures', () => {
  test('with maxFailures 0 (the default) the first failure stops the pipeline with that very error', async () => {
    let calls = 0;
    const p = pipeline(range(100))
      .pipe((value: number) => {
        calls++;
        return evenOnly(value);
      })
      .build();
    const { items: received, error } = await drain(p);
    assert.ok(error instanceof OddItemError, `got ${String(error)}`);
    assert.equal(error.item, 1);
    assert.equal(error.message, 'odd 1');
    // Only item 0 could have come before; nothing ran past the failure.
    assert.ok(received.length <= 1 && (received[0] ?? 0) === 0, `received ${received.join()}`);
    assert.equal(calls, 2);
    assert.equal(p.stats()[0]!.failures, 1);
    // After the rejection the pipeline is done.
    assert.deepEqual(await p.next(), { done: true, value: undefined });
  });

  test('an async function that rejects is a failure too', async () => {
    const p = pipeline([1, 2, 3])
      .pipe(async (value) => {
        await sleep(1);
        if (value === 2) throw new TypeError('two is not allowed');
        return value;
      })
      .build();
    const error = await rejectionOf(collect(p));
    assert.ok(error instanceof TypeError);
    assert.equal(error.message, 'two is not allowed');
  });

  test('maxFailures 2 tolerates two failures (those items are dropped) and the run completes', async () => {
    const p = pipeline([0, 1, 2, 3, 4, 6, 8]).pipe(evenOnly).build({ maxFailures: 2 });
    assert.deepEqual(await collect(p), [0, 2, 4, 6, 8]);
    const [stage] = p.stats();
    assert.deepEqual([stage!.inputs, stage!.outputs, stage!.failures], [7, 5, 2]);
  });

  test('with maxFailures 2 the third failure stops the pipeline with the first error', async () => {
    const p = pipeline(range(20)).pipe(evenOnly).build({ maxFailures: 2 });
    const { items: received, error } = await drain(p);
    assert.ok(error instanceof OddItemError);
    assert.equal(error.item, 1, 'the first failure is the one reported');
    // Items 1, 3 and 5 failed; 0, 2, 4 may have been delivered before the stop, nothing after.
    assert.deepEqual(received, [0, 2, 4].slice(0, received.length));
    const [stage] = p.stats();
    assert.equal(stage!.failures, 3);
    assert.equal(stage!.inputs, 6);
  });

  test('maxFailures counts the failures of every stage together', async () => {
    const p = pipeline(range(6))
      .pipe((value: number) => {
        if (value === 1) throw new Error('first stage');
        return value;
      })
      .pipe((value: number) => {
        if (value === 4) throw new Error('second stage');
        return value;
      })
      .build({ maxFailures: 2 });
    assert.deepEqual(await collect(p), [0, 2, 3, 5]);
    assert.deepEqual(
      p.stats().map((stage) => stage.failures),
      [1, 1],
    );
  });

  test('maxFailures Infinity never stops; failed items are dropped', async () => {
    const p = pipeline(range(50))
      .pipe(evenOnly, { concurrency: 3 })
      .build({ maxFailures: Infinity });
    assert.deepEqual(
      await collect(p),
      range(25).map((value) => value * 2),
    );
    assert.equal(p.stats()[0]!.failures, 25);
  });

  test('an error thrown by the source arrives after the items before it, as the same error', async () => {
    const sourceError = new SyntaxError('bad record');
    function* source(): Generator<number> {
      yield 1;
      yield 2;
      yield 3;
      throw sourceError;
    }
    const p = pipeline(source())
      .pipe((value) => value * 10, { concurrency: 2 })
      .build({ maxFailures: 10 });
    const { items: received, error } = await drain(p);
    assert.equal(error, sourceError);
    assert.deepEqual(received, [10, 20, 30]);
  });

  test('aggregate hands on its partial batch before a source error', async () => {
    const sourceError = new Error('truncated file');
    function* source(): Generator<number> {
      yield* range(5);
      throw sourceError;
    }
    const { items, error } = await drain(pipeline(source()).aggregate(2).build());
    assert.deepEqual(items, [[0, 1], [2, 3], [4]]);
    assert.equal(error, sourceError);
  });

  test('an async source that rejects, and a source whose iterator cannot be opened, reject the loop', async () => {
    async function* failing(): AsyncGenerator<number> {
      yield 1;
      await sleep(1);
      throw new RangeError('stream broke');
    }
    const error = await rejectionOf(collect(pipeline(failing()).build()));
    assert.ok(error instanceof RangeError);
    const unopenable = {
      [Symbol.iterator](): Iterator<number> {
        throw new Error('cannot open');
      },
    };
    const openError = await rejectionOf(pipeline(unopenable).build().next());
    assert.equal((openError as Error).message, 'cannot open');
  });

  test('disaggregate counts an item that is not iterable as a failure', async () => {
    const p = pipeline<unknown>([[1], 2, [3]])
      .disaggregate()
      .build({ maxFailures: 1 });
    assert.deepEqual(await collect(p), [1, 3]);
    assert.equal(p.stats()[0]!.failures, 1);
    const strict = pipeline<unknown>([[1], 2])
      .disaggregate()
      .build();
    const error = await rejectionOf(collect(strict));
    assert.ok(error instanceof KeelError);
    assert.equal(error.code, 'ERR_INVALID_ARGUMENT');
  });

  test('onStats throwing stops the pipeline with its error', async () => {
    const statsError = new Error('stats sink down');
    const p = pipeline(
      (async function* () {
        for (let index = 0; ; index++) {
          await sleep(5);
          yield index;
        }
      })(),
    ).build({
      statsIntervalMs: 10,
      onStats() {
        throw statsError;
      },
    });
    assert.equal(await rejectionOf(collect(p)), statsError);
  });
});
