import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeelError, Pool } from 'keel';
import { Flags, fixture, rejectionOf } from './helpers.ts';

const failing = fixture('failing.mjs');
const math = fixture('math.mjs');

test('a worker that calls process.exit rejects its task with ERR_WORKER_EXITED and the pool keeps serving', async () => {
  await using pool = new Pool({ minThreads: 1, maxThreads: 1 });
  const error = (await rejectionOf(pool.run(failing, 'exitNow', [7]))) as KeelError;
  assert.ok(error instanceof KeelError);
  assert.equal(error.code, 'ERR_WORKER_EXITED');
  assert.match(error.message, /exited with code 7/);
  assert.equal(await pool.run(math, 'add', [2, 2]), 4);
  assert.equal(pool.stats().threads, 1);
});

test('an uncaught exception after a call kills the worker; the next task runs on a replacement', async () => {
  await using pool = new Pool({ minThreads: 1, maxThreads: 1 });
  assert.equal(await pool.run(failing, 'throwLater'), 'answered');
  // The dying worker may take the next task with it, but never silently: it either answers or
  // rejects with ERR_WORKER_EXITED carrying the uncaught error as cause.
  const outcome = await pool.run(math, 'addLater', [1, 2]).catch((error: unknown) => error);
  if (outcome !== 3) {
    assert.equal((outcome as KeelError).code, 'ERR_WORKER_EXITED');
    assert.match(((outcome as KeelError).cause as Error).message, /uncaught in the worker/);
  }
  assert.equal(await pool.run(math, 'add', [1, 2]), 3);
});

test('tasks pipelined behind a task whose worker exits are run again, not lost', async () => {
  await using pool = new Pool({ minThreads: 1, maxThreads: 1 });
  // Teach the pool that add is tiny, so that it sends adds ahead to the busy thread.
  for (let index = 0; index < 5; index++) await pool.run(math, 'add', [index, 0]);
  const adds = Array.from({ length: 50 }, (_, index) => pool.run(math, 'add', [index, 1]));
  const exit = pool.run(failing, 'exitNow', [3]);
  const more = Array.from({ length: 50 }, (_, index) => pool.run(math, 'add', [index, 2]));
  assert.equal(((await rejectionOf(exit)) as KeelError).code, 'ERR_WORKER_EXITED');
  assert.deepEqual(
    await Promise.all(adds),
    Array.from({ length: 50 }, (_, index) => index + 1),
  );
  assert.deepEqual(
    await Promise.all(more),
    Array.from({ length: 50 }, (_, index) => index + 2),
  );
});

test('a task that runs past timeoutMs rejects with ERR_TIMEOUT and its worker is replaced', async () => {
  await using pool = new Pool({ minThreads: 1, maxThreads: 1 });
  const started = Date.now();
  const error = (await rejectionOf(
    pool.run(failing, 'spinForever', [], { timeoutMs: 100 }),
  )) as KeelError;
  assert.ok(error instanceof KeelError);
  assert.equal(error.code, 'ERR_TIMEOUT');
  assert.equal(error.name, 'TimeoutError');
  assert.ok(Date.now() - started < 5000);
  assert.equal(await pool.run(math, 'add', [1, 1]), 2);
});

test('aborting a queued task removes it without touching the running one', async () => {
  await using pool = new Pool({ minThreads: 1, maxThreads: 1 });
  const gate = new Flags();
  const running = pool.run(failing, 'blockUntilReleased', [gate.buffer]);
  await gate.started();
  const controller = new AbortController();
  const queued = pool.run(math, 'add', [1, 1], { signal: controller.signal });
  const after = pool.run(math, 'add', [2, 2]);
  assert.equal(pool.stats().queued, 2);
  controller.abort();
  const reason = (await rejectionOf(queued)) as DOMException;
  assert.equal(reason.name, 'AbortError');
  assert.equal(pool.stats().queued, 1);
  gate.release();
  assert.equal(await running, 'released');
  assert.equal(await after, 4);
});

test('aborting a running task rejects with the signal reason and replaces only its worker', async () => {
  await using pool = new Pool({ minThreads: 2, maxThreads: 2 });
  const victim = new Flags();
  const bystander = new Flags();
  const controller = new AbortController();
  const aborted = pool.run(failing, 'blockUntilReleased', [victim.buffer], {
    signal: controller.signal,
  });
  const other = pool.run(failing, 'blockUntilReleased', [bystander.buffer]);
  await Promise.all([victim.started(), bystander.started()]);
  const reason = new Error('operator pressed stop');
  controller.abort(reason);
  assert.equal(await rejectionOf(aborted), reason);
  // The bystander keeps running on its own worker and finishes normally.
  bystander.release();
  assert.equal(await other, 'released');
  assert.equal(await pool.run(math, 'add', [5, 5]), 10);
});

test('an already aborted signal rejects at once', async () => {
  await using pool = new Pool({ maxThreads: 1 });
  const reason = await rejectionOf(pool.run(math, 'add', [1, 1], { signal: AbortSignal.abort() }));
  assert.equal((reason as DOMException).name, 'AbortError');
});

test('maxQueue rejects the task that would overflow the queue with ERR_QUEUE_FULL', async () => {
  await using pool = new Pool({ minThreads: 1, maxThreads: 1, maxQueue: 2 });
  const gate = new Flags();
  const running = pool.run(failing, 'blockUntilReleased', [gate.buffer]);
  await gate.started();
  const first = pool.run(math, 'add', [1, 0]);
  const second = pool.run(math, 'add', [2, 0]);
  const error = (await rejectionOf(pool.run(math, 'add', [3, 0]))) as KeelError;
  assert.equal(error.code, 'ERR_QUEUE_FULL');
  gate.release();
  assert.deepEqual(await Promise.all([running, first, second]), ['released', 1, 2]);
});

test('graceful close waits for running and queued tasks, then rejects new runs with ERR_CLOSED', async () => {
  const pool = new Pool({ minThreads: 1, maxThreads: 1 });
  const gate = new Flags();
  const running = pool.run(failing, 'blockUntilReleased', [gate.buffer]);
  await gate.started();
  const queued = pool.run(math, 'add', [20, 22]);
  let closed = false;
  const closing = pool.close().then(() => (closed = true));
  const late = (await rejectionOf(pool.run(math, 'add', [1, 1]))) as KeelError;
  assert.equal(late.code, 'ERR_CLOSED');
  assert.equal(closed, false);
  gate.release();
  assert.equal(await running, 'released');
  assert.equal(await queued, 42);
  await closing;
  assert.equal(pool.stats().threads, 0);
});

test('forced close rejects running and queued tasks with ERR_CLOSED and ends at once', async () => {
  const pool = new Pool({ minThreads: 1, maxThreads: 1 });
  const gate = new Flags();
  const running = rejectionOf(pool.run(failing, 'spinForever'));
  const blocked = rejectionOf(pool.run(failing, 'blockUntilReleased', [gate.buffer]));
  const queued = rejectionOf(pool.run(math, 'add', [1, 1]));
  await pool.close({ force: true });
  for (const rejection of [running, blocked, queued]) {
    assert.equal(((await rejection) as KeelError).code, 'ERR_CLOSED');
  }
  assert.equal(pool.stats().threads, 0);
  assert.equal(
    ((await rejectionOf(pool.run(math, 'add', [1, 1]))) as KeelError).code,
    'ERR_CLOSED',
  );
});

test('a forced close after a graceful one ends a hung task', async () => {
  const pool = new Pool({ minThreads: 1, maxThreads: 1 });
  const hung = rejectionOf(pool.run(failing, 'spinForever'));
  const graceful = pool.close();
  await pool.close({ force: true });
  await graceful;
  assert.equal(((await hung) as KeelError).code, 'ERR_CLOSED');
});

test('a worker over its resourceLimits rejects its task with ERR_WORKER_EXITED', async () => {
  await using pool = new Pool({ maxThreads: 1, resourceLimits: { maxOldGenerationSizeMb: 16 } });
  const error = (await rejectionOf(pool.run(fixture('memory.mjs'), 'exhaustHeap'))) as KeelError;
  assert.equal(error.code, 'ERR_WORKER_EXITED');
  assert.equal(await pool.run(math, 'add', [1, 1]), 2);
});

test('a worker that cannot start rejects its task with ERR_START_FAILED', async () => {
  await using pool = new Pool({ minThreads: 0, maxThreads: 1, execArgv: ['--no-such-node-flag'] });
  const error = (await rejectionOf(pool.run(math, 'add', [1, 1]))) as KeelError;
  assert.equal(error.code, 'ERR_START_FAILED');
});
