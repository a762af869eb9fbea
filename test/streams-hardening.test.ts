/**
 * iterateInWorker against careless and hostile input (issue 13): long and infinite timeouts,
 * workers that cannot start, misspelled and ill-typed options.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KeelError, iterateInWorker, type IterateInWorkerOptions } from 'keel';
import { fixture, rejectionOf } from './helpers.ts';

type Hardening = typeof import('./fixtures/streams-hardening.mjs');
const hardeningUrl = fixture('streams-hardening.mjs');
const streamsUrl = fixture('streams.mjs');

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

/** The first next() of a stream over `count` with these options: its rejection. */
async function refusal(options: unknown): Promise<KeelError> {
  const stream = iterateInWorker(streamsUrl, 'count', [3], options as IterateInWorkerOptions);
  const error = await rejectionOf(stream.next());
  assert.ok(error instanceof KeelError, `a KeelError, got ${String(error)}`);
  assert.equal(error.code, 'ERR_INVALID_ARGUMENT');
  assert.deepEqual(await stream.next(), { done: true, value: undefined });
  return error;
}

describe('iterateInWorker hardening', () => {
  for (const timeoutMs of [2 ** 31, 2 ** 40, Infinity]) {
    test(`timeoutMs ${timeoutMs} does not time out items that take 50 ms (it used to fire after ~1 ms)`, async () => {
      const items = await collect(
        iterateInWorker<Hardening, 'slowCount'>(hardeningUrl, 'slowCount', [4, 50], { timeoutMs }),
      );
      assert.deepEqual(items, [0, 1, 2, 3]);
    });
  }

  test('with timeoutMs 2^31, return() lets the generator finally run to its end instead of killing the worker at once', async () => {
    const shared = new SharedArrayBuffer(4);
    const stream = iterateInWorker<Hardening, 'slowFinally'>(
      hardeningUrl,
      'slowFinally',
      [shared, 200],
      { timeoutMs: 2 ** 31 },
    );
    assert.deepEqual(await stream.next(), { done: false, value: 0 });
    await stream.return();
    assert.equal(Atomics.load(new Int32Array(shared), 0), 1, 'the finally ran to its end');
  });

  test('a process that exits before it booted (a bad Node flag) rejects with ERR_START_FAILED, not ERR_WORKER_EXITED', async () => {
    const stream = iterateInWorker(streamsUrl, 'count', [3], {
      kind: 'process',
      execArgv: ['--bogus-flag'],
    });
    const startedMs = performance.now();
    const error = await rejectionOf(stream.next());
    assert.ok(error instanceof KeelError);
    assert.equal(error.code, 'ERR_START_FAILED');
    assert.match(error.message, /process exited with code \d+ before it started/);
    assert.match(error.message, /--bogus-flag/, "the child's stderr explains why");
    assert.ok(performance.now() - startedMs < 10_000);
    assert.deepEqual(await stream.next(), { done: true, value: undefined });
  });

  test('a thread Node refuses to start (a bad Node flag) rejects the iteration with ERR_START_FAILED; nothing throws synchronously', async () => {
    const stream = iterateInWorker(streamsUrl, 'count', [3], { execArgv: ['--bogus-flag'] });
    const error = await rejectionOf(stream.next());
    assert.ok(error instanceof KeelError);
    assert.equal(error.code, 'ERR_START_FAILED');
    assert.deepEqual(await stream.next(), { done: true, value: undefined });
    // The polling take reports the same failure by throwing it (its documented contract).
    const polled = iterateInWorker(streamsUrl, 'count', [3], { execArgv: ['--bogus-flag'] });
    assert.throws(() => polled.tryNext(), { code: 'ERR_START_FAILED' });
  });

  test('unknown option keys reject with the closest valid key', async () => {
    assert.match(
      (await refusal({ bufer: 2 })).message,
      /options\.bufer is not an option; did you mean buffer\?/,
    );
    assert.match((await refusal({ timeout: 100 })).message, /did you mean timeoutMs\?/);
    assert.match((await refusal({ resourceLimit: {} })).message, /did you mean resourceLimits\?/);
  });

  test('ill-typed values reject before any worker starts: timeouts, buffer sizes, the options object', async () => {
    for (const timeoutMs of [NaN, -1, 'abc', null]) {
      assert.match((await refusal({ timeoutMs })).message, /^timeoutMs must be/);
    }
    for (const buffer of [0, 1.5, 2 ** 31, Infinity, NaN, '4', null]) {
      assert.match((await refusal({ buffer })).message, /^buffer must be/);
    }
    for (const options of [null, 5, 'fast', [1]]) {
      assert.match((await refusal(options)).message, /^options must be an object/);
    }
  });

  test('the largest buffer is accepted and streams normally', async () => {
    const items = await collect(iterateInWorker(streamsUrl, 'count', [5], { buffer: 2 ** 31 - 1 }));
    assert.deepEqual(items, [0, 1, 2, 3, 4]);
  });
});

describe('iterateInWorker hardening: the options shared with spawn', () => {
  test('env values must be strings, resourceLimits is checked, before any worker starts', async () => {
    assert.match((await refusal({ env: { PATH: 1 } })).message, /^env\.PATH must be a string/);
    assert.match(
      (await refusal({ resourceLimits: { stackSizeMb: 0.01 } })).message,
      /^resourceLimits\.stackSizeMb must be/,
    );
    assert.match(
      (await refusal({ resourceLimits: { maxOldGenerationSizeMb: 'abc' } })).message,
      /^resourceLimits\.maxOldGenerationSizeMb must be/,
    );
  });
});
