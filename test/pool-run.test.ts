import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Pool } from 'keel';
import { Flags, fixture, fixturePath } from './helpers.ts';

const math = fixture('math.mjs');

test('run returns the value of a sync export and the awaited value of an async one', async () => {
  await using pool = new Pool({ maxThreads: 2 });
  assert.equal(await pool.run(math, 'add', [2, 3]), 5);
  assert.equal(await pool.run(math, 'addLater', [4, 5]), 9);
});

test('a module can be named by absolute path, file: URL string or URL object', async () => {
  await using pool = new Pool({ maxThreads: 1 });
  assert.equal(await pool.run(fixturePath('math.mjs'), 'add', [1, 1]), 2);
  assert.equal(await pool.run(math.href, 'add', [1, 2]), 3);
  assert.equal(await pool.run(math, 'add', [1, 3]), 4);
});

test('values cross with structured-clone semantics', async () => {
  await using pool = new Pool({ maxThreads: 1 });
  const cyclic: Record<string, unknown> = { name: 'loop' };
  cyclic.self = cyclic;
  const value = {
    date: new Date(0),
    map: new Map([['k', new Set([1n, 2n])]]),
    pattern: /ke+l/gi,
    floats: new Float32Array([1.5, 2.5]),
    buffer: Buffer.from('hi'),
    cyclic,
  };
  const echoed = await pool.run<typeof value>(math, 'echo', [value]);
  assert.deepEqual(echoed.date, value.date);
  assert.deepEqual(echoed.map, value.map);
  assert.equal(echoed.pattern.source, 'ke+l');
  assert.deepEqual([...echoed.floats], [1.5, 2.5]);
  assert.equal(echoed.cyclic.self, echoed.cyclic);
});

test('tasks run truly in parallel up to maxThreads', async () => {
  await using pool = new Pool({ minThreads: 2, maxThreads: 2 });
  const first = new Flags();
  const second = new Flags();
  const a = pool.run(fixture('failing.mjs'), 'blockUntilReleased', [first.buffer]);
  const b = pool.run(fixture('failing.mjs'), 'blockUntilReleased', [second.buffer]);
  // Both must be running at the same time: each waits until the test releases it.
  await Promise.all([first.started(), second.started()]);
  assert.equal(pool.stats().busy, 2);
  first.release();
  second.release();
  assert.deepEqual(await Promise.all([a, b]), ['released', 'released']);
});

test('higher priority runs first, equal priorities in submission order', async () => {
  await using pool = new Pool({ minThreads: 1, maxThreads: 1 });
  const gate = new Flags();
  const blocker = pool.run(fixture('failing.mjs'), 'blockUntilReleased', [gate.buffer]);
  await gate.started();
  const order: string[] = [];
  const track = (label: string, priority: number) =>
    pool.run(math, 'echo', [label], { priority }).then((value) => order.push(value as string));
  const all = [
    track('low-1', 0),
    track('high-1', 5),
    track('low-2', 0),
    track('high-2', 5),
    track('mid', 1),
  ];
  assert.equal(pool.stats().queued, 5);
  gate.release();
  await Promise.all([blocker, ...all]);
  assert.deepEqual(order, ['high-1', 'high-2', 'mid', 'low-1', 'low-2']);
});

test('module() exposes every export as an async function and is not thenable', async () => {
  await using pool = new Pool({ maxThreads: 1 });
  const work = pool.module<typeof import('./fixtures/typed-math.ts')>(fixture('typed-math.ts'));
  assert.equal(await work.scale(3, 4), 12);
  assert.equal(await work.slowScale(2, 5), 10);
  assert.equal((work as unknown as { then?: unknown }).then, undefined);
  const resolved = await Promise.resolve(work);
  assert.equal(resolved, work);
});

test('stats() counts threads, completions, failures and timing percentiles', async () => {
  await using pool = new Pool({ minThreads: 1, maxThreads: 2 });
  for (let index = 0; index < 20; index++) await pool.run(math, 'add', [index, 1]);
  await assert.rejects(pool.run(fixture('failing.mjs'), 'throwString'));
  const stats = pool.stats();
  assert.equal(stats.completed, 20);
  assert.equal(stats.failed, 1);
  assert.ok(stats.threads >= 1 && stats.threads <= 2);
  assert.equal(stats.busy, 0);
  assert.equal(stats.queued, 0);
  assert.ok(stats.runTimeMs.p50 >= 0 && stats.runTimeMs.p99 >= stats.runTimeMs.p50);
  assert.ok(stats.waitTimeMs.max >= stats.waitTimeMs.p50);
});

test('many concurrent tiny tasks all complete with the right values', async () => {
  await using pool = new Pool({ minThreads: 2, maxThreads: 2 });
  const results = await Promise.all(
    Array.from({ length: 5000 }, (_, index) => pool.run(math, 'add', [index, index])),
  );
  assert.deepEqual(
    results,
    Array.from({ length: 5000 }, (_, index) => 2 * index),
  );
});

test('threads above minThreads end after idleTimeoutMs', async () => {
  await using pool = new Pool({ minThreads: 0, maxThreads: 2, idleTimeoutMs: 50 });
  await Promise.all([pool.run(math, 'addLater', [1, 1]), pool.run(math, 'addLater', [1, 1])]);
  assert.ok(pool.stats().threads >= 1);
  const deadline = Date.now() + 10_000;
  while (pool.stats().threads > 0 && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(pool.stats().threads, 0);
  assert.equal(await pool.run(math, 'add', [1, 1]), 2);
});

test('env and execArgv reach the worker', async () => {
  await using pool = new Pool({
    maxThreads: 1,
    env: { KEEL_TEST_VALUE: 'from-env' },
    execArgv: ['--no-warnings'],
  });
  assert.equal(
    await pool.run(fixture('environment.mjs'), 'readEnv', ['KEEL_TEST_VALUE']),
    'from-env',
  );
  assert.deepEqual(await pool.run(fixture('environment.mjs'), 'execArgv'), ['--no-warnings']);
});

test(
  "a thread given its own env keeps the caller's KEEL_NATIVE, so wake-ups reach both ends",
  { timeout: 30_000 },
  async () => {
    // Both ends of a lane must wait and wake the same way (the addon's futex, or Atomics), and
    // each thread chooses by KEEL_NATIVE: an env that says otherwise would leave parked calls
    // unanswered for ever.
    // With the addon: an env that turns it off; without: an env that does not say.
    const env = process.env.KEEL_NATIVE === '0' ? {} : { KEEL_NATIVE: '0' };
    await using pool = new Pool({ maxThreads: 1, env: { ...env, KEEL_TEST_VALUE: 'own' } });
    const environment = fixture('environment.mjs');
    assert.equal(await pool.run(environment, 'readEnv', ['KEEL_TEST_VALUE']), 'own');
    assert.equal(await pool.run(environment, 'readEnv', ['KEEL_NATIVE']), process.env.KEEL_NATIVE);
    // Calls that sleep 5 ms: the caller has parked by the time each answer comes.
    for (let i = 0; i < 20; i++) assert.equal(await pool.run(math, 'addLater', [i, 1]), i + 1);
  },
);
