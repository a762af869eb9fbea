import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeelError, Pool, asyncify } from 'keel';
import { fixture, rejectionOf } from './helpers.ts';

test('the function form runs in a worker and .sync runs the original here', async () => {
  const square = asyncify((x: number) => x * x);
  assert.equal(await square(7), 49);
  assert.equal(square.sync(7), 49);
  const threadOf = asyncify(async () => (await import('node:worker_threads')).threadId);
  assert.notEqual(await threadOf(), 0);
});

test('a function that closes over an outer variable fails with ERR_NOT_CLONEABLE naming it', async () => {
  const factor = 3;
  const scale = asyncify((x: number) => x * factor);
  const error = (await rejectionOf(scale(2))) as KeelError;
  assert.ok(error instanceof KeelError);
  assert.equal(error.code, 'ERR_NOT_CLONEABLE');
  assert.match(error.message, /self-contained/);
  assert.match(error.message, /'factor'/);
  assert.equal(scale.sync(2), 6);
});

test('functions without a standalone source are refused at asyncify time', () => {
  const object = {
    method(x: number) {
      return x;
    },
  };
  assert.throws(
    () => asyncify(object.method),
    (error: KeelError) => error.code === 'ERR_NOT_CLONEABLE',
  );
  assert.throws(() => asyncify(Math.max), /native or bound/);
});

test('errors thrown by an asyncified function keep their class', async () => {
  const check = asyncify((x: number) => {
    if (x < 0) throw new RangeError(`negative: ${x}`);
    return Math.sqrt(x);
  });
  assert.equal(await check(9), 3);
  const error = await rejectionOf(check(-1));
  assert.ok(error instanceof RangeError);
  assert.equal(error.message, 'negative: -1');
});

test('the module form runs an export on the given pool', async () => {
  await using pool = new Pool({ maxThreads: 1 });
  const scale = asyncify<typeof import('./fixtures/typed-math.ts'), 'scale'>(
    fixture('typed-math.ts'),
    'scale',
    { pool },
  );
  assert.equal(await scale(6, 7), 42);
  assert.equal(pool.stats().completed, 1);
});

test('the module form without a pool uses the shared default pool', async () => {
  const add = asyncify<typeof import('./fixtures/math.mjs'), 'add'>(fixture('math.mjs'), 'add');
  assert.equal(await add(20, 22), 42);
});
