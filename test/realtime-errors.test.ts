// How a RealtimeLoop fails: the first tick error (or a worker's death) stops the loop, goes to
// onError, and makes stop() reject; start failures reject inWorker; stop() never hangs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { KeelError } from 'keel';
import { RealtimeLoop } from 'keel';
import { fixture, rejectionOf } from './helpers.ts';

/** onError as a promise of the first error, and a count of calls. */
function errorCatcher(): {
  onError: (error: unknown) => void;
  first: Promise<unknown>;
  calls: () => number;
} {
  let calls = 0;
  let resolveFirst!: (error: unknown) => void;
  const first = new Promise<unknown>((resolve) => (resolveFirst = resolve));
  return {
    onError: (error) => {
      calls++;
      resolveFirst(error);
    },
    first,
    calls: () => calls,
  };
}

test('a throwing tick on the calling thread stops the loop, reaches onError once, and stop() rejects with it', async () => {
  const failure = new Error('sensor read failed');
  let ticks = 0;
  const { onError, first, calls } = errorCatcher();
  const loop = new RealtimeLoop({
    hz: 200,
    onError,
    tick: () => {
      if (++ticks === 3) throw failure;
    },
  }).start();
  assert.equal(await first, failure);
  assert.equal(loop.running, false);
  await delay(30);
  assert.equal(ticks, 3, 'no tick after the failure');
  assert.equal(loop.stats().ticks, 3);
  assert.equal(await rejectionOf(loop.stop()), failure);
  assert.equal(await rejectionOf(loop.stop()), failure, 'every stop() reports it');
  assert.equal(calls(), 1);
});

test('a rejecting async tick on the calling thread stops the loop the same way', async () => {
  let ticks = 0;
  const { onError, first } = errorCatcher();
  const loop = new RealtimeLoop({
    hz: 200,
    onError,
    tick: async () => {
      await Promise.resolve();
      if (++ticks === 2) throw new RangeError('out of range');
    },
  }).start();
  const error = await first;
  assert.ok(error instanceof RangeError);
  await assert.rejects(loop.stop(), RangeError);
});

test('a throwing worker tick arrives with its class, name, code, properties and worker stack', async () => {
  const { onError, first } = errorCatcher();
  const loop = await RealtimeLoop.inWorker(fixture('realtime-failing.mjs'), 'throwing', {
    hz: 500,
    onError,
  });
  const error = (await first) as TypeError & { code?: unknown; tick?: unknown };
  assert.ok(error instanceof TypeError);
  assert.equal(error.name, 'ControlError');
  assert.equal(error.message, 'actuator limit exceeded');
  assert.equal(error.code, 'E_CONTROL');
  assert.equal(error.tick, 5);
  assert.match(error.stack ?? '', /realtime-failing\.mjs/);
  assert.equal(loop.running, false);
  assert.equal(loop.stats().ticks, 5);
  assert.equal(await rejectionOf(loop.stop()), error);
});

test('a rejecting async worker tick stops the loop and stop() rejects with the error', async () => {
  const { onError, first } = errorCatcher();
  const loop = await RealtimeLoop.inWorker(fixture('realtime-failing.mjs'), 'rejecting', {
    hz: 500,
    onError,
  });
  assert.ok((await first) instanceof RangeError);
  await assert.rejects(loop.stop(), { name: 'RangeError', message: 'async tick failed' });
});

test('a worker that dies mid-loop surfaces as ERR_WORKER_EXITED with its exit code', async () => {
  const { onError, first } = errorCatcher();
  const loop = await RealtimeLoop.inWorker(fixture('realtime-failing.mjs'), 'crashing', {
    hz: 500,
    onError,
  });
  const error = await first;
  assert.ok(error instanceof KeelError);
  assert.equal(error.code, 'ERR_WORKER_EXITED');
  assert.match(error.message, /exited with code 7/);
  await assert.rejects(loop.stop(), { code: 'ERR_WORKER_EXITED' });
});

test('inWorker rejects with ERR_START_FAILED when setup() throws, its error as the cause', async () => {
  const error = await rejectionOf(
    RealtimeLoop.inWorker(fixture('realtime-setup-fails.mjs'), 'tick', { hz: 100 }),
  );
  assert.ok(error instanceof KeelError);
  assert.equal(error.code, 'ERR_START_FAILED');
  assert.match(error.message, /setup\(\) failed: no camera connected/);
  assert.equal((error.cause as Error).message, 'no camera connected');
});

test('inWorker rejects with ERR_NOT_FOUND for a missing module, export, or an export that is not a function', async () => {
  await assert.rejects(
    RealtimeLoop.inWorker(fixture('realtime-missing.mjs'), 'tick', { hz: 100 }),
    {
      code: 'ERR_NOT_FOUND',
    },
  );
  await assert.rejects(
    RealtimeLoop.inWorker(fixture('realtime-noop.mjs'), 'control', { hz: 100 }),
    {
      code: 'ERR_NOT_FOUND',
      message: /no export named 'control'/,
    },
  );
  await assert.rejects(
    RealtimeLoop.inWorker(fixture('realtime-failing.mjs'), 'notAFunction', { hz: 100 }),
    { code: 'ERR_NOT_FOUND', message: /not a function/ },
  );
});

test('inWorker rejects (never throws) invalid arguments with ERR_INVALID_ARGUMENT', async () => {
  const pending = RealtimeLoop.inWorker(fixture('realtime-noop.mjs'), 'tick', { hz: -1 });
  assert.ok(pending instanceof Promise);
  await assert.rejects(pending, { code: 'ERR_INVALID_ARGUMENT', message: /hz must be/ });
  await assert.rejects(RealtimeLoop.inWorker('relative/tick.mjs', 'tick', { hz: 1 }), {
    code: 'ERR_INVALID_ARGUMENT',
    message: /moduleRef must be an absolute path/,
  });
});

test('stop() of a worker whose tick never returns terminates it and rejects with ERR_TIMEOUT', async () => {
  const loop = await RealtimeLoop.inWorker(fixture('realtime-failing.mjs'), 'stuck', { hz: 100 });
  await delay(50);
  const started = performance.now();
  const error = await rejectionOf(loop.stop({ timeoutMs: 200 }));
  assert.ok(error instanceof KeelError);
  assert.equal(error.code, 'ERR_TIMEOUT');
  assert.ok(performance.now() - started < 3000);
  assert.equal(loop.running, false);
});

test('stop() of a calling-thread loop whose async tick never settles rejects with ERR_TIMEOUT', async () => {
  let ticks = 0;
  const loop = new RealtimeLoop({
    hz: 100,
    tick: () => {
      ticks++;
      return new Promise(() => undefined);
    },
  }).start();
  await delay(50);
  await assert.rejects(loop.stop({ timeoutMs: 100 }), { code: 'ERR_TIMEOUT' });
  assert.equal(ticks, 1);
  assert.equal(loop.running, false);
});
