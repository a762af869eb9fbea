// tryNext(): the polling take of iterateInWorker, for loops that must not await (a RealtimeLoop
// tick). Every item arrives, in order, then the end or the stream's error; nothing waits.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Arena, KeelError, iterateInWorker, release, type WorkerIterator } from 'keel';
import { eventually, fixture } from './helpers.ts';

type Streams = typeof import('./fixtures/streams.mjs');
const streamsUrl = fixture('streams.mjs');

interface Polled<T> {
  readonly items: T[];
  readonly error?: unknown;
}

/** Polls every millisecond, as a fixed-rate loop would, until the end or a throw (or 20 s). */
async function pollAll<T>(
  stream: WorkerIterator<T>,
  onItem?: (item: T) => void,
): Promise<Polled<T>> {
  const items: T[] = [];
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    let result: IteratorResult<T, undefined> | undefined;
    try {
      while ((result = stream.tryNext()) !== undefined && result.done !== true) {
        onItem?.(result.value);
        items.push(result.value);
      }
    } catch (error) {
      return { items, error };
    }
    if (result?.done === true) return { items };
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  throw new Error(`the stream did not end within 20 s (${items.length} items polled)`);
}

describe('tryNext', () => {
  for (const kind of ['thread', 'process'] as const) {
    test(`polls every item in order, then the end, never waiting (${kind})`, async () => {
      const stream = iterateInWorker<Streams, 'count'>(streamsUrl, 'count', [200], {
        kind,
        buffer: 4,
      });
      assert.equal(stream.tryNext(), undefined, 'the first call starts the worker');
      const { items, error } = await pollAll(stream);
      assert.equal(error, undefined);
      assert.deepEqual(
        items,
        Array.from({ length: 200 }, (_, index) => index),
      );
      assert.deepEqual(stream.tryNext(), { done: true, value: undefined });
      assert.deepEqual(await stream.next(), { done: true, value: undefined });
    });
  }

  test('next() and tryNext() share one stream: every item once, in order', async () => {
    const stream = iterateInWorker<Streams, 'count'>(streamsUrl, 'count', [60], { buffer: 2 });
    const seen: number[] = [];
    for (let turn = 0; seen.length < 60; turn++) {
      if (turn % 2 === 0) {
        const result = await stream.next();
        if (result.done === true) break;
        seen.push(result.value);
      } else {
        const result = stream.tryNext();
        if (result?.done === true) break;
        if (result !== undefined) seen.push(result.value);
        else await new Promise((resolve) => setImmediate(resolve));
      }
    }
    assert.deepEqual(
      seen,
      Array.from({ length: 60 }, (_, index) => index),
    );
    await stream.return();
  });

  test('polled frames are views over the arena, and each one released returns its space', async () => {
    const arena = new Arena({ bytes: 4 * 2 ** 20 });
    const byteLength = 256 * 1024;
    const stream = iterateInWorker<Streams, 'frames'>(streamsUrl, 'frames', [64, byteLength], {
      arena,
      buffer: 4,
    });
    const { items, error } = await pollAll(stream, ({ index, frame }) => {
      assert.equal(frame.length, byteLength);
      assert.ok(frame.buffer instanceof SharedArrayBuffer, 'a view over the arena');
      assert.equal(frame[0], 0xa5);
      assert.equal(frame[byteLength - 1], index & 0xff);
      release(frame);
    });
    assert.equal(error, undefined);
    assert.equal(items.length, 64, '16 MiB through a 4 MiB arena');
    assert.equal(arena.stats().fallbacks, 0);
    await eventually(() => arena.stats().bytesInUse === 0, 'every frame was given back');
  });

  test("throws the generator's error with its class, code and cause, after the items before it", async () => {
    const stream = iterateInWorker<Streams, 'throwsAfter'>(streamsUrl, 'throwsAfter', [3]);
    const { items, error } = await pollAll(stream);
    assert.deepEqual(items, [0, 1, 2]);
    assert.ok(error instanceof TypeError);
    assert.equal(error.message, 'sensor unplugged');
    assert.equal((error as TypeError & { code?: string }).code, 'E_SENSOR');
    assert.ok(error.cause instanceof RangeError);
    assert.deepEqual(stream.tryNext(), { done: true, value: undefined }, 'done after a throw');
  });

  test('throws ERR_WORKER_EXITED once the worker died', async () => {
    const stream = iterateInWorker<Streams, 'crashAfter'>(streamsUrl, 'crashAfter', [2, 'exit']);
    const { items, error } = await pollAll(stream);
    assert.deepEqual(items, [0, 1]);
    assert.ok(error instanceof KeelError);
    assert.equal(error.code, 'ERR_WORKER_EXITED');
    assert.match(error.message, /exited with code 3/);
  });

  test('bad arguments throw ERR_INVALID_ARGUMENT from the first tryNext()', () => {
    const stream = iterateInWorker(streamsUrl, '', []);
    assert.throws(() => stream.tryNext(), { code: 'ERR_INVALID_ARGUMENT' });
    assert.deepEqual(stream.tryNext(), { done: true, value: undefined });
  });
});
