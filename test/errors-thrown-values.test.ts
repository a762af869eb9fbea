// A value thrown in a worker that is not an Error arrives as itself: `throw null` as null and
// `throw undefined` as undefined (they used to arrive as the strings "null" and "undefined"),
// from pool functions, remote methods (thread and process) and factories (issue 13, item 8).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KeelError, Pool, close, spawn } from 'keel';
import { fixture } from './helpers.ts';

type ThrowerModule = typeof import('./fixtures/thrown-values.mjs');
const throwerUrl = fixture('thrown-values.mjs');

/** The names the fixture throws, and the value each must arrive as. */
const kExpected: [string, unknown][] = [
  ['null', null],
  ['undefined', undefined],
  ['zero', 0],
  ['empty', ''],
  ['false', false],
  ['object', { reason: 'stalled', axis: 2 }],
];

/** The rejection reason of `promise`, told apart from a resolution even when it is undefined. */
async function reasonOf(promise: Promise<unknown>): Promise<unknown> {
  const outcome = await promise.then(
    () => ({ rejected: false, reason: undefined as unknown }),
    (reason: unknown) => ({ rejected: true, reason }),
  );
  assert.ok(outcome.rejected, 'expected a rejection');
  return outcome.reason;
}

for (const kind of ['thread', 'process'] as const) {
  describe(`a spawned remote (${kind})`, () => {
    test('a method that throws or rejects with a value that is not an Error rejects with that value', async () => {
      await using thrower = await spawn<ThrowerModule, 'makeThrower'>(
        throwerUrl,
        'makeThrower',
        [],
        { kind },
      );
      for (const [name, expected] of kExpected) {
        assert.deepStrictEqual(await reasonOf(thrower.throwValue(name)), expected, name);
        assert.deepStrictEqual(await reasonOf(thrower.rejectWith(name)), expected, name);
      }
    });

    test('an error whose cause is null or undefined keeps that cause', async () => {
      await using thrower = await spawn<ThrowerModule>(throwerUrl, { kind });
      for (const name of ['null', 'undefined']) {
        const error = (await reasonOf(thrower.throwWithCause(name))) as Error;
        assert.ok(error instanceof Error);
        assert.equal(error.message, 'wrapped');
        assert.ok(Object.hasOwn(error, 'cause'), `${name}: the cause was dropped`);
        assert.equal(error.cause, name === 'null' ? null : undefined);
      }
    });

    test('a factory that throws null rejects spawn with ERR_START_FAILED whose cause is null', async () => {
      const error = (await reasonOf(
        spawn<ThrowerModule, 'makeFailing'>(throwerUrl, 'makeFailing', ['null'], { kind }),
      )) as KeelError;
      assert.ok(error instanceof KeelError);
      assert.equal(error.code, 'ERR_START_FAILED');
      assert.equal(error.cause, null);
    });
  });
}

test('a pool function that throws or rejects with null or undefined rejects with it', async () => {
  const pool = new Pool({ maxThreads: 1 });
  try {
    for (const [name, expected] of kExpected) {
      assert.deepStrictEqual(await reasonOf(pool.run(throwerUrl, 'throwValue', [name])), expected);
      assert.deepStrictEqual(await reasonOf(pool.run(throwerUrl, 'rejectWith', [name])), expected);
    }
  } finally {
    await pool.close();
  }
});

test('a remote that threw null keeps serving', async () => {
  const thrower = await spawn<ThrowerModule>(throwerUrl);
  assert.equal(await reasonOf(thrower.throwValue('null')), null);
  assert.equal(await reasonOf(thrower.throwValue('undefined')), undefined);
  await close(thrower);
});
