import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeelError, Pool } from 'keel';
import { fixture, rejectionOf } from './helpers.ts';

const failing = fixture('failing.mjs');

test('a worker error arrives with its class, message, code, own properties and cause', async () => {
  await using pool = new Pool({ maxThreads: 1 });
  const error = (await rejectionOf(pool.run(failing, 'throwTypeError'))) as TypeError & {
    code: string;
    detail: unknown;
    cause: RangeError;
  };
  assert.ok(error instanceof TypeError);
  assert.equal(error.name, 'TypeError');
  assert.equal(error.message, 'bad input');
  assert.equal(error.code, 'E_BAD_INPUT');
  assert.deepEqual(error.detail, { field: 'speed', limit: 3 });
  assert.ok(error.cause instanceof RangeError);
  assert.equal(error.cause.message, 'root cause');
});

test('the stack shows the worker frames, then the caller', async () => {
  await using pool = new Pool({ maxThreads: 1 });
  async function callerFunctionWithDistinctName() {
    // V8 links async frames through `await`; a bare `return promise` leaves no frame.
    return await pool.run(failing, 'throwTypeError');
  }
  const error = (await rejectionOf(callerFunctionWithDistinctName())) as Error;
  const stack = error.stack ?? '';
  const workerFrame = stack.indexOf('failing.mjs');
  const callerFrame = stack.indexOf('callerFunctionWithDistinctName');
  assert.ok(workerFrame > 0, `no worker frame in:\n${stack}`);
  assert.ok(callerFrame > workerFrame, `no caller frame after the worker frames in:\n${stack}`);
});

test('a user error class arrives as an Error carrying the class name and properties', async () => {
  await using pool = new Pool({ maxThreads: 1 });
  const error = (await rejectionOf(pool.run(failing, 'throwCustom'))) as Error & { axis: number };
  assert.ok(error instanceof Error);
  assert.equal(error.name, 'MotorFault');
  assert.equal(error.message, 'axis 2 stalled');
  assert.equal(error.axis, 2);
});

test('a thrown non-error value arrives as that value', async () => {
  await using pool = new Pool({ maxThreads: 1 });
  assert.equal(await rejectionOf(pool.run(failing, 'throwString')), 'plain string');
});

test('an async rejection arrives like a throw', async () => {
  await using pool = new Pool({ maxThreads: 1 });
  const error = (await rejectionOf(pool.run(failing, 'rejectLater'))) as Error;
  assert.equal(error.message, 'async failure');
});

test('an error with an uncloneable property still rejects, keeping what can cross', async () => {
  await using pool = new Pool({ maxThreads: 1 });
  const error = (await rejectionOf(pool.run(failing, 'throwUncloneableProps'))) as Error &
    Record<string, unknown>;
  assert.equal(error.message, 'has a function property');
  assert.equal(error.kept, 'yes');
  assert.equal(error.callback, undefined);
});

test('an argument that cannot cross rejects with ERR_NOT_CLONEABLE naming its path', async () => {
  await using pool = new Pool({ maxThreads: 1 });
  const model = { weights: [1, 2], forward: () => 0 };
  const error = (await rejectionOf(
    pool.run(fixture('math.mjs'), 'echo', [1, { model }]),
  )) as KeelError;
  assert.ok(error instanceof KeelError);
  assert.equal(error.code, 'ERR_NOT_CLONEABLE');
  assert.match(error.message, /args\[1\]\.model\.forward/);
  // The pool keeps serving.
  assert.equal(await pool.run(fixture('math.mjs'), 'add', [1, 1]), 2);
});

test('symbols, promises and weak maps are refused with their path', async () => {
  await using pool = new Pool({ maxThreads: 1 });
  const cases: [unknown, RegExp][] = [
    [{ tag: Symbol('x') }, /args\[0\]\.tag/],
    [[Promise.resolve(1)], /args\[0\]\[0\]/],
    [new Map([['cache', new WeakMap()]]), /args\[0\]\.get\("cache"\)/],
  ];
  for (const [value, path] of cases) {
    const error = (await rejectionOf(pool.run(fixture('math.mjs'), 'echo', [value]))) as KeelError;
    assert.equal(error.code, 'ERR_NOT_CLONEABLE');
    assert.match(error.message, path);
  }
});

test('a result that cannot cross rejects with ERR_NOT_CLONEABLE naming result.path', async () => {
  await using pool = new Pool({ maxThreads: 1 });
  const error = (await rejectionOf(pool.run(failing, 'returnFunction'))) as KeelError;
  assert.equal(error.code, 'ERR_NOT_CLONEABLE');
  assert.match(error.message, /result\.handler/);
});

test('a missing module rejects with ERR_NOT_FOUND', async () => {
  await using pool = new Pool({ maxThreads: 1 });
  const error = (await rejectionOf(pool.run(fixture('does-not-exist.mjs'), 'x'))) as KeelError;
  assert.equal(error.code, 'ERR_NOT_FOUND');
  assert.match(error.message, /does-not-exist\.mjs/);
});

test('a missing export rejects with ERR_NOT_FOUND listing the exports', async () => {
  await using pool = new Pool({ maxThreads: 1 });
  const error = (await rejectionOf(pool.run(fixture('math.mjs'), 'multiply'))) as KeelError;
  assert.equal(error.code, 'ERR_NOT_FOUND');
  assert.match(error.message, /no export named 'multiply'.*add/);
  const notFunction = (await rejectionOf(
    pool.run(fixture('math.mjs'), 'notAFunction'),
  )) as KeelError;
  assert.equal(notFunction.code, 'ERR_NOT_FOUND');
  assert.match(notFunction.message, /number, not a function/);
});

test('a module that throws while loading rejects with ERR_START_FAILED and the cause', async () => {
  await using pool = new Pool({ maxThreads: 1 });
  const error = (await rejectionOf(pool.run(fixture('broken-module.mjs'), 'x'))) as KeelError;
  assert.equal(error.code, 'ERR_START_FAILED');
  assert.equal((error.cause as Error).message, 'this module cannot be evaluated');
  const nested = (await rejectionOf(pool.run(fixture('imports-missing.mjs'), 'use'))) as KeelError;
  assert.equal(nested.code, 'ERR_START_FAILED');
  assert.match(nested.message, /no-such-dependency/);
});

test('bad arguments reject with ERR_INVALID_ARGUMENT naming the option', async () => {
  await using pool = new Pool({ maxThreads: 1 });
  const relative = (await rejectionOf(pool.run('./math.mjs', 'add'))) as KeelError;
  assert.equal(relative.code, 'ERR_INVALID_ARGUMENT');
  assert.match(relative.message, /moduleRef must be an absolute path/);
  const args = (await rejectionOf(pool.run(fixture('math.mjs'), 'add', 3 as never))) as KeelError;
  assert.match(args.message, /args must be an array, got 3/);
  const timeout = (await rejectionOf(
    pool.run(fixture('math.mjs'), 'add', [], { timeoutMs: -1 }),
  )) as KeelError;
  assert.match(timeout.message, /timeoutMs must be a number of milliseconds >= 0.*, got -1/);
  assert.throws(
    () => new Pool({ maxThreads: -1 }),
    /maxThreads must be a positive integer, got -1/,
  );
  assert.throws(
    () => new Pool({ minThreads: 3, maxThreads: 2 }),
    /minThreads must be at most maxThreads \(2\), got 3/,
  );
});
