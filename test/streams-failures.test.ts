import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KeelError, iterateInWorker } from 'keel';
import { fixture, rejectionOf } from './helpers.ts';

type Streams = typeof import('./fixtures/streams.mjs');
const streamsUrl = fixture('streams.mjs');

/** Resolves once `flags[index]` reaches `value` (Atomics, no polling); rejects after 10 s. */
async function flagReaches(flags: Int32Array, index: number, value: number): Promise<void> {
  const deadline = performance.now() + 10_000;
  // A pending Atomics.waitAsync does not keep the process alive, and an idle stream does not.
  const keepAlive = setInterval(() => undefined, 1000);
  try {
    for (let seen = Atomics.load(flags, index); seen < value; seen = Atomics.load(flags, index)) {
      const remainingMs = deadline - performance.now();
      if (remainingMs <= 0) throw new Error(`flags[${index}] stayed at ${seen}, expected ${value}`);
      const wait = Atomics.waitAsync(flags, index, seen, remainingMs);
      if (wait.async) await wait.value;
    }
  } finally {
    clearInterval(keepAlive);
  }
}

const crashes = [
  ['thread', 'exit', /exited with code 3/],
  ['thread', 'timer', /exited with code 1/],
  ['process', 'exit', /exited with code 3/],
  ['process', 'abort', /killed by SIGABRT/],
] as const;

describe('iterateInWorker failures', () => {
  for (const [kind, how, pattern] of crashes) {
    test(`a ${kind} that dies mid-stream (${how}) rejects the pending next() with ERR_WORKER_EXITED at once`, async () => {
      const stream = iterateInWorker<Streams, 'crashAfter'>(streamsUrl, 'crashAfter', [2, how], {
        kind,
      });
      assert.deepEqual(await stream.next(), { done: false, value: 0 });
      assert.deepEqual(await stream.next(), { done: false, value: 1 });
      const startedMs = performance.now();
      const error = (await rejectionOf(stream.next())) as KeelError;
      assert.ok(error instanceof KeelError);
      assert.equal(error.code, 'ERR_WORKER_EXITED');
      assert.match(error.message, pattern);
      // Watched, not timed out: far below any timeout (there is none here).
      assert.ok(performance.now() - startedMs < 5000);
      if (how === 'timer') assert.match(String(error.cause), /uncaught in a timer/);
      assert.deepEqual(await stream.next(), { done: true, value: undefined });
    });
  }

  for (const kind of ['thread', 'process'] as const) {
    test(`timeoutMs: an item that does not come in time rejects with ERR_TIMEOUT and ends the ${kind}`, async () => {
      const stream = iterateInWorker<Streams, 'slowAfter'>(streamsUrl, 'slowAfter', [2, 60_000], {
        kind,
        // The first next() includes the start: generous for a child process on a busy machine.
        timeoutMs: 3000,
      });
      assert.deepEqual(await stream.next(), { done: false, value: 0 });
      assert.deepEqual(await stream.next(), { done: false, value: 1 });
      const error = (await rejectionOf(stream.next())) as KeelError;
      assert.equal(error.code, 'ERR_TIMEOUT');
      assert.equal(error.name, 'TimeoutError');
      assert.match(error.message, /timeoutMs \(3000 ms\)/);
      // The worker was terminated: return() has nothing to wait for but its exit.
      assert.deepEqual(await stream.return(), { done: true, value: undefined });
    });

    test(`an abort during a pending next() rejects it with the signal's reason at once (${kind})`, async () => {
      const controller = new AbortController();
      const stream = iterateInWorker<Streams, 'slowAfter'>(streamsUrl, 'slowAfter', [1, 60_000], {
        kind,
        signal: controller.signal,
      });
      assert.deepEqual(await stream.next(), { done: false, value: 0 });
      const pending = stream.next();
      const reason = new Error('operator pressed stop');
      setTimeout(() => {
        controller.abort(reason);
      }, 50);
      assert.equal(await rejectionOf(pending), reason);
      assert.deepEqual(await stream.next(), { done: true, value: undefined });
      assert.deepEqual(await stream.return(), { done: true, value: undefined });
    });
  }

  test('an abort before the first next() rejects with an AbortError and starts nothing', async () => {
    const flags = new Int32Array(new SharedArrayBuffer(16));
    const stream = iterateInWorker<Streams, 'counted'>(streamsUrl, 'counted', [flags.buffer], {
      signal: AbortSignal.abort(),
    });
    const error = (await rejectionOf(stream.next())) as DOMException;
    assert.equal(error.name, 'AbortError');
    assert.equal(Atomics.load(flags, 2), 0, 'the generator never started');
  });

  test('an abort with items waiting drops them: the next next() rejects', async () => {
    const controller = new AbortController();
    const flags = new Int32Array(new SharedArrayBuffer(16));
    const stream = iterateInWorker<Streams, 'counted'>(streamsUrl, 'counted', [flags.buffer], {
      signal: controller.signal,
    });
    assert.deepEqual(await stream.next(), { done: false, value: 0 });
    await flagReaches(flags, 0, 4); // three more made and waiting
    controller.abort();
    const error = (await rejectionOf(stream.next())) as DOMException;
    assert.equal(error.name, 'AbortError');
  });
});

describe('iterateInWorker flow control (threads)', () => {
  for (const buffer of [1, 3, 4, 7]) {
    test(`the generator runs at most buffer (${buffer}) items ahead of the loop, and does run ahead`, async () => {
      const flags = new Int32Array(new SharedArrayBuffer(16));
      const stream = iterateInWorker<Streams, 'counted'>(streamsUrl, 'counted', [flags.buffer], {
        buffer,
      });
      // Credits reach a paused generator in batches of buffer / 2: it may lag by less.
      const lag = Math.max(1, Math.floor(buffer / 2)) - 1;
      let taken = 0;
      for (const batch of [1, 2, 4, 2, 1]) {
        for (let index = 0; index < batch; index++) {
          assert.deepEqual(await stream.next(), { done: false, value: taken });
          taken++;
        }
        await flagReaches(flags, 0, taken + buffer - lag);
        await new Promise((resolve) => setTimeout(resolve, 50));
        // Paused (generous: a runaway generator would be thousands ahead).
        assert.ok(Atomics.load(flags, 0) <= taken + buffer, `${Atomics.load(flags, 0)} made`);
      }
      await stream.return();
      assert.equal(Atomics.load(flags, 1), 1, "the generator's finally ran");
    });
  }

  test('items made in a quick burst arrive before the pause that follows it ends', async () => {
    // Quick items may share a wake-up of this thread; a pause of the generator must not hold
    // back the ones before it.
    for (let round = 0; round < 5; round++) {
      const stream = iterateInWorker<Streams, 'burstThenPause'>(
        streamsUrl,
        'burstThenPause',
        [3, 3000],
      );
      assert.deepEqual(await stream.next(), { done: false, value: 0 });
      const startedMs = performance.now();
      assert.deepEqual(await stream.next(), { done: false, value: 1 });
      assert.deepEqual(await stream.next(), { done: false, value: 2 });
      assert.ok(performance.now() - startedMs < 2500, 'the burst waited for the pause');
      await stream.return();
    }
  });

  test("an async generator's finally finishes before return() resolves", async () => {
    const flags = new Int32Array(new SharedArrayBuffer(16));
    const stream = iterateInWorker<Streams, 'countedAsync'>(streamsUrl, 'countedAsync', [
      flags.buffer,
    ]);
    assert.deepEqual(await stream.next(), { done: false, value: 0 });
    await stream.return();
    assert.equal(Atomics.load(flags, 1), 1);
  });
});
