// What a careless or hostile user tries on a Pool must never freeze, hang or crash (issue 13):
// closes that all settle, timeouts of any length, bounded thread counts, threads started without
// blocking the event loop, threads that cannot start, and every bad argument refused with a
// KeelError naming it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Arena, KeelError, Pool, asyncify } from 'keel';
import { kMaxThreads } from '../dist/options/checks.js';
import { kMaxStarting } from '../dist/execution/pool/start-gate.js';
import { TaskQueue } from '../dist/execution/pool/task-queue.js';
import { Flags, fixture, rejectionOf, runScript } from './helpers.ts';

const math = fixture('math.mjs');
const failing = fixture('failing.mjs');
const timed = fixture('pool-hardening.mjs');

/** The promise's outcome, or a failure (not a hung test) if it has not settled in time. */
async function settlesWithin<T>(promise: Promise<T>, what: string, ms = 10_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`${what} did not settle within ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([promise, hung]);
  } finally {
    clearTimeout(timer);
  }
}

function assertInvalid(error: unknown, message: RegExp): void {
  assert.ok(error instanceof KeelError, `not a KeelError: ${String(error)}`);
  assert.equal(error.code, 'ERR_INVALID_ARGUMENT');
  assert.match(error.message, message);
}

function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

// Close ---------------------------------------------------------------------------------------

test('two graceful closes during a running task both settle once it is done', async () => {
  const pool = new Pool({ minThreads: 1, maxThreads: 1 });
  const gate = new Flags();
  const running = pool.run(failing, 'blockUntilReleased', [gate.buffer]);
  await gate.started();
  const first = pool.close();
  const second = pool.close();
  gate.release();
  assert.equal(await running, 'released');
  await settlesWithin(Promise.all([first, second]), 'two graceful closes');
  assert.equal(pool.stats().threads, 0);
});

test('a forced close after a graceful one ends a hung task, and both closes settle', async () => {
  const pool = new Pool({ minThreads: 1, maxThreads: 1 });
  const gate = new Flags();
  const hung = pool.run(failing, 'blockUntilReleased', [gate.buffer]);
  const queued = pool.run(math, 'add', [1, 1]);
  await gate.started();
  const graceful = pool.close();
  const forced = pool.close({ force: true });
  assert.equal(((await rejectionOf(hung)) as KeelError).code, 'ERR_CLOSED');
  assert.equal(((await rejectionOf(queued)) as KeelError).code, 'ERR_CLOSED');
  await settlesWithin(Promise.all([graceful, forced]), 'graceful then forced close');
  assert.equal(pool.stats().threads, 0);
});

test('forced then graceful closes, repeated closes and asyncDispose all settle', async () => {
  const pool = new Pool({ minThreads: 2, maxThreads: 2 });
  const gate = new Flags();
  const hung = pool.run(failing, 'blockUntilReleased', [gate.buffer]);
  await gate.started();
  const closes = [
    pool.close({ force: true }),
    pool.close(),
    pool.close({ force: true }),
    pool[Symbol.asyncDispose](),
  ];
  assert.equal(((await rejectionOf(hung)) as KeelError).code, 'ERR_CLOSED');
  await settlesWithin(Promise.all(closes), 'forced, graceful, forced, dispose');
  await settlesWithin(pool.close(), 'a close after the pool closed');
  assert.equal(
    ((await rejectionOf(pool.run(math, 'add', [1, 1]))) as KeelError).code,
    'ERR_CLOSED',
  );
});

test('close with bad options rejects with ERR_INVALID_ARGUMENT and closes nothing', async () => {
  await using pool = new Pool({ maxThreads: 1 });
  assertInvalid(await rejectionOf(pool.close('x' as never)), /options must be an object/);
  assertInvalid(await rejectionOf(pool.close(null as never)), /options must be an object/);
  assertInvalid(
    await rejectionOf(pool.close({ forse: true } as never)),
    /options\.forse is not an option; did you mean force\?/,
  );
  assertInvalid(await rejectionOf(pool.close({ force: 1 } as never)), /force must be a boolean/);
  assert.equal(await pool.run(math, 'add', [2, 3]), 5);
});

// Timeouts of any length ------------------------------------------------------------------------

test('a run timeoutMs of 2^31 ms or Infinity does not fire early: a 50 ms task answers', async () => {
  await using pool = new Pool({ maxThreads: 2 });
  for (const timeoutMs of [2 ** 31, 2 ** 40, Number.MAX_VALUE, Infinity]) {
    assert.equal(await pool.run(timed, 'sleep', [50], { timeoutMs }), 50, `timeoutMs ${timeoutMs}`);
  }
  // A short timeout still fires.
  const error = (await rejectionOf(
    pool.run(failing, 'spinForever', [], { timeoutMs: 50 }),
  )) as KeelError;
  assert.equal(error.code, 'ERR_TIMEOUT');
});

test('idleTimeoutMs of 2^31 ms or Infinity keeps an idle thread, and the process still exits', () => {
  for (const idleTimeoutMs of [String(2 ** 31), 'Infinity']) {
    const result = runScript('pool-idle-threads.mjs', { scriptArgs: [idleTimeoutMs] });
    assert.equal(result.status, 0, `idleTimeoutMs ${idleTimeoutMs}: ${result.stderr}`);
    assert.equal(result.stdout.trim(), 'threads 1', `idleTimeoutMs ${idleTimeoutMs}`);
  }
  // A short one still ends the thread.
  const short = runScript('pool-idle-threads.mjs', { scriptArgs: ['20'] });
  assert.equal(short.status, 0, short.stderr);
  assert.equal(short.stdout.trim(), 'threads 0');
});

// Sizes -------------------------------------------------------------------------------------

test('thread counts far beyond the machine are refused at once with ERR_INVALID_ARGUMENT', async () => {
  // In a child process: minThreads 1e9 used to start threads until memory ran out.
  const result = runScript('pool-huge-sizes.mjs', { scriptArgs: [String(kMaxThreads)] });
  assert.equal(result.status, 0, result.stderr);
  const outcomes = result.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { code?: string; message?: string });
  const expected = [
    /maxThreads must be at most \d+ \(16 per CPU/,
    /maxThreads must be at most/,
    /minThreads must be at most/,
    new RegExp(`maxThreads must be at most ${kMaxThreads}`),
  ];
  assert.equal(outcomes.length, expected.length, result.stdout);
  expected.forEach((message, index) => {
    assert.equal(outcomes[index]!.code, 'ERR_INVALID_ARGUMENT', result.stdout);
    assert.match(outcomes[index]!.message!, message);
  });
  assert.ok(result.ms < 10_000, `took ${result.ms} ms`);
  // The bound itself is allowed (no thread starts: minThreads 0).
  const largest = new Pool({ minThreads: 0, maxThreads: kMaxThreads });
  assert.equal(largest.stats().threads, 0);
  await largest.close();
});

test('a synchronous burst of runs starts only a few threads; the rest start as those come online', async () => {
  await using pool = new Pool({ minThreads: 0, maxThreads: 64 });
  const runs = Array.from({ length: 100 }, (_, index) => pool.run(timed, 'block', [20, index]));
  assert.ok(pool.stats().threads <= kMaxStarting, `${pool.stats().threads} threads at once`);
  assert.deepEqual(
    await Promise.all(runs),
    Array.from({ length: 100 }, (_, index) => index),
  );
});

test('200 tasks on maxThreads 64 all complete and never block the event loop for long', () => {
  // In a child process: before the fix this burst blocked the loop for a second or more.
  const result = runScript('pool-burst.mjs');
  assert.equal(result.status, 0, result.stderr);
  const report = JSON.parse(result.stdout) as {
    allAnswered: boolean;
    threadsAfterBurst: number;
    peakThreads: number;
    worstGapMs: number;
  };
  assert.ok(report.allAnswered);
  assert.ok(report.threadsAfterBurst <= kMaxStarting, result.stdout);
  // More threads than start slots did come online: the throttle starts them all, in turn.
  assert.ok(report.peakThreads > kMaxStarting, result.stdout);
  assert.ok(report.worstGapMs < 1000, `the event loop was blocked for ${report.worstGapMs} ms`);
});

test('tasks of many distinct priorities queue in O(log n): 40 000 of them do not freeze the loop', () => {
  const queue = new TaskQueue<{ priority: number; settled: boolean }>();
  const started = performance.now();
  for (let index = 0; index < 40_000; index++) {
    queue.push({ priority: (index * 7919) % 40_000, settled: false });
  }
  let previous = Infinity;
  for (let task = queue.shift(); task; task = queue.shift()) {
    assert.ok(task.priority <= previous);
    previous = task.priority;
  }
  // A sorted array of buckets took ~8 s here; the heap takes milliseconds.
  assert.ok(performance.now() - started < 2000, `${performance.now() - started} ms`);
});

// Threads that cannot start ---------------------------------------------------------------------

test('a bad execArgv rejects every run with ERR_START_FAILED carrying Node error, never throws or hangs', async () => {
  const pool = new Pool({ minThreads: 1, execArgv: ['--bogus-flag'] });
  const results = await settlesWithin(
    Promise.allSettled(Array.from({ length: 20 }, () => pool.run(math, 'add', [1, 1]))),
    'runs on a pool whose threads cannot start',
  );
  for (const result of results) {
    assert.equal(result.status, 'rejected');
    const error = result.reason as KeelError;
    assert.ok(error instanceof KeelError);
    assert.equal(error.code, 'ERR_START_FAILED');
    assert.equal((error.cause as { code?: string }).code, 'ERR_WORKER_INVALID_EXEC_ARGV');
    assert.match(error.message, /--bogus-flag/);
  }
  assert.equal(pool.stats().threads, 0);
  await settlesWithin(pool.close(), 'close of a pool that never started a thread');
});

test('threads that fail while booting reject queued tasks and are not restarted forever', async () => {
  let starts = 0;
  const countStart = () => starts++;
  process.on('worker', countStart);
  // A 1 MB heap: the thread runs out of memory while it loads keel's worker entry.
  const pool = new Pool({
    minThreads: 2,
    maxThreads: 4,
    resourceLimits: { maxOldGenerationSizeMb: 1, maxYoungGenerationSizeMb: 1 },
  });
  try {
    const results = await settlesWithin(
      Promise.allSettled(Array.from({ length: 20 }, () => pool.run(math, 'add', [1, 1]))),
      'runs on a pool whose threads die while booting',
    );
    for (const result of results) {
      assert.equal(result.status, 'rejected');
      assert.equal((result.reason as KeelError).code, 'ERR_START_FAILED');
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    const settled = starts;
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(starts, settled, 'the pool kept restarting threads in the background');
    assert.ok(starts <= 6, `${starts} thread starts for 20 tasks`);
  } finally {
    process.off('worker', countStart);
    await pool.close({ force: true });
  }
});

// Bad arguments -----------------------------------------------------------------------------

test('unknown option keys are refused with the closest valid key named', async () => {
  assertInvalid(
    thrownBy(() => new Pool({ maxThread: 2 } as never)),
    /options\.maxThread is not an option; did you mean maxThreads\?/,
  );
  await using pool = new Pool({ maxThreads: 1 });
  assertInvalid(
    await rejectionOf(pool.run(math, 'add', [1, 2], { timeout: 5 } as never)),
    /options\.timeout is not an option; did you mean timeoutMs\?/,
  );
  assertInvalid(
    thrownBy(() => asyncify((x: number) => x, { pol: pool } as never)),
    /options\.pol is not an option; did you mean pool\?/,
  );
  assertInvalid(
    thrownBy(() =>
      asyncify<typeof import('./fixtures/math.mjs'), 'add'>(math, 'add', { pools: pool } as never),
    ),
    /did you mean pool\?/,
  );
  assertInvalid(
    thrownBy(() => (pool.module as (...args: unknown[]) => unknown)(math, { timeoutMs: 5 })),
    /pool\.module\(moduleRef\) must be called with one argument/,
  );
  assertInvalid(
    thrownBy(() => new Pool({ resourceLimits: { heapMb: 1 } } as never)),
    /resourceLimits\.heapMb is not an option/,
  );
});

test('every Pool option refuses the same bad values with a KeelError naming it', () => {
  const bad: unknown[] = ['2', NaN, -1, 1.5, 1e9, {}, null, [], true, () => 1];
  const options: [string, unknown[]][] = [
    ['minThreads', bad.concat([Infinity])],
    ['maxThreads', bad.concat([Infinity, 0])],
    ['idleTimeoutMs', ['2', NaN, -1, {}, null, [], true]],
    ['maxQueue', bad.filter((value) => value !== 1e9).concat([-Infinity])],
    [
      'resourceLimits',
      ['x', 1, null, [], { stackSizeMb: 0.01 }, { maxOldGenerationSizeMb: 'abc' }],
    ],
    ['env', ['x', 1, null, [], { A: 1 }, { B: {} }]],
    ['execArgv', ['--x', 1, null, {}, ['--ok', 2]]],
    ['arena', ['x', 1, null]],
  ];
  for (const [name, values] of options) {
    for (const value of values) {
      const error = thrownBy(() => new Pool({ minThreads: 0, [name]: value }));
      assert.ok(error instanceof KeelError, `${name}: ${String(value)} threw ${String(error)}`);
      assert.equal(error.code, 'ERR_INVALID_ARGUMENT', `${name}: ${String(value)}`);
      assert.match(error.message, new RegExp(name), `${name}: ${String(value)}`);
    }
  }
  for (const value of ['x', 1, null, [], true]) {
    assertInvalid(
      thrownBy(() => new Pool(value as never)),
      /options must be an object/,
    );
  }
});

test('a closed arena is refused when the pool is made, not at its first thread start', () => {
  const arena = new Arena({ bytes: 1 << 20 });
  arena.close();
  assertInvalid(
    thrownBy(() => new Pool({ arena })),
    /arena must be an Arena that is not closed/,
  );
});

test('every run, module and asyncify argument is checked first, and only KeelErrors come out', async () => {
  await using pool = new Pool({ maxThreads: 1 });
  const run = pool.run.bind(pool) as (...args: unknown[]) => Promise<unknown>;
  const calls: [unknown[], RegExp][] = [
    [[null, 42, 'x'], /moduleRef/],
    [[math, 42], /exportName must be a non-empty string/],
    [[math, ''], /exportName/],
    [[math, 'add', 'x'], /args must be an array/],
    [[math, 'add', [], null], /options must be an object/],
    [[math, 'add', [], 'x'], /options must be an object/],
    [[math, 'add', [], { signal: {} }], /signal must be an AbortSignal/],
    [[math, 'add', [], { timeoutMs: NaN }], /timeoutMs/],
    [[math, 'add', [], { timeoutMs: -1 }], /timeoutMs/],
    [[math, 'add', [], { timeoutMs: '5' }], /timeoutMs/],
    [[math, 'add', [], { priority: NaN }], /priority must be a finite number/],
    [[math, 'add', [], { priority: Infinity }], /priority/],
    [[math, 'add', [], { priority: '1' }], /priority/],
    [['file://a:99999/x.mjs', 'add'], /moduleRef must be an absolute path or a valid file: URL/],
    [[Object.create(URL.prototype), 'add'], /moduleRef/],
    [['http://example.com/x.mjs', 'add'], /moduleRef must be a file: URL/],
  ];
  for (const [args, message] of calls) assertInvalid(await rejectionOf(run(...args)), message);
  const module = pool.module.bind(pool) as (...args: unknown[]) => unknown;
  assertInvalid(
    thrownBy(() => module(null)),
    /moduleRef/,
  );
  assertInvalid(
    thrownBy(() => module('relative.mjs')),
    /moduleRef must be an absolute path/,
  );
  assertInvalid(
    thrownBy(() => module('file://a:99999/x.mjs')),
    /moduleRef/,
  );
  const loose = asyncify as (...args: unknown[]) => unknown;
  assertInvalid(
    thrownBy(() => loose(null, 'add')),
    /moduleRef/,
  );
  assertInvalid(
    thrownBy(() => loose(42)),
    /moduleRef/,
  );
  assertInvalid(
    thrownBy(() => loose(math, '')),
    /exportName must be a non-empty string/,
  );
  assertInvalid(
    thrownBy(() => loose(math, 'add', null)),
    /options must be an object/,
  );
  assertInvalid(
    thrownBy(() => loose((x: number) => x, 'add')),
    /options must be an object/,
  );
  assertInvalid(
    thrownBy(() => loose((x: number) => x, {}, {})),
    /at most two arguments/,
  );
  assertInvalid(
    thrownBy(() => loose(math, 'add', { pool: {} })),
    /options\.pool must be a Pool/,
  );
  // After all of that, the pool still serves.
  assert.equal(await pool.run(math, 'add', [20, 22]), 42);
});

test('maxQueue counts only tasks that wait for a busy pool, not for a thread being started', async () => {
  await using pool = new Pool({ minThreads: 0, maxThreads: 4, maxQueue: 0 });
  // Four threads can take four tasks at once, though only a few start in one turn.
  const four = Array.from({ length: 4 }, (_, index) => pool.run(timed, 'block', [50, index]));
  const fifth = pool.run(timed, 'block', [50, 4]);
  assert.equal(((await rejectionOf(fifth)) as KeelError).code, 'ERR_QUEUE_FULL');
  assert.deepEqual(await Promise.all(four), [0, 1, 2, 3]);
});

test('queued tasks reject, never hang, when the arena they cross through was closed meanwhile', async () => {
  const arena = new Arena({ bytes: 1 << 20 });
  await using pool = new Pool({ arena, minThreads: 1, maxThreads: 1 });
  const gate = new Flags();
  const running = pool.run(failing, 'blockUntilReleased', [gate.buffer]);
  await gate.started();
  const queued = Promise.allSettled(
    Array.from({ length: 3 }, (_, index) => pool.run(math, 'add', [index, 1])),
  );
  arena.close();
  gate.release();
  // The running task's own answer crosses through the closed arena too: it fails or not, but
  // it settles.
  await settlesWithin(
    running.catch(() => undefined),
    'the running task',
  );
  const outcomes = await settlesWithin(queued, 'tasks queued behind the close');
  for (const outcome of outcomes) {
    assert.equal(outcome.status, 'rejected');
    assert.equal((outcome.reason as KeelError).code, 'ERR_CLOSED');
  }
  assert.ok(pool.stats().failed >= 3);
});
