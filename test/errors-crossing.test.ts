import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { KeelError } from 'keel';
import { deserializeError, serializeError } from '../dist/errors.js';
import { findUncloneable } from '../dist/values/crossing.js';

const builtins = [
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
] as const;
const cloneable = fc.oneof(
  fc.string(),
  fc.double({ noNaN: true }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 4 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3, noNullPrototype: true }),
);

/** An error as user code builds them: a class, a message, maybe a code, props and a cause chain. */
const anError: fc.Arbitrary<Error> = fc.letrec<{ error: Error }>((tie) => ({
  error: fc
    .record({
      kind: fc.integer({ min: 0, max: builtins.length - 1 }),
      message: fc.string(),
      code: fc.option(fc.string({ minLength: 1, maxLength: 12 }), { nil: undefined }),
      props: fc.dictionary(fc.constantFrom('detail', 'axis', 'limit', 'path'), cloneable, {
        maxKeys: 3,
      }),
      cause: fc.option(tie('error'), { nil: undefined, depthSize: 'small' }),
    })
    .map(({ kind, message, code, props, cause }) => {
      const error = new builtins[kind]!(message, cause === undefined ? undefined : { cause });
      Object.assign(error, props, code === undefined ? {} : { code });
      return error;
    }),
})).error;

function sameError(actual: unknown, expected: Error): void {
  assert.ok(actual instanceof Error);
  assert.equal(Object.getPrototypeOf(actual), Object.getPrototypeOf(expected));
  assert.equal(actual.name, expected.name);
  assert.equal(actual.message, expected.message);
  for (const key of Object.keys(expected)) {
    assert.deepEqual(
      (actual as unknown as Record<string, unknown>)[key],
      (expected as unknown as Record<string, unknown>)[key],
    );
  }
  if (expected.cause !== undefined) sameError(actual.cause, expected.cause as Error);
}

test('any error survives serialize -> structured clone -> rebuild with class, code, props and causes', () => {
  fc.assert(
    fc.property(anError, (error) => {
      const crossed = structuredClone(serializeError(error));
      sameError(deserializeError(crossed), error);
    }),
    { numRuns: 300, seed: 20261121 },
  );
});

test('a KeelError crosses as a KeelError with its code', () => {
  const rebuilt = deserializeError(
    structuredClone(serializeError(new KeelError('ERR_NOT_FOUND', 'gone'))),
  );
  assert.ok(rebuilt instanceof KeelError);
  assert.equal(rebuilt.code, 'ERR_NOT_FOUND');
});

test('an AggregateError keeps its members', () => {
  const rebuilt = deserializeError(
    structuredClone(serializeError(new AggregateError([new TypeError('a'), 'b'], 'both failed'))),
  ) as AggregateError;
  assert.ok(rebuilt instanceof AggregateError);
  assert.ok(rebuilt.errors[0] instanceof TypeError);
  assert.equal(rebuilt.errors[1], 'b');
});

test('a caller stack is appended after the worker frames', () => {
  const rebuilt = deserializeError(
    serializeError(new Error('x')),
    '    at async caller (app.js:1:1)',
  ) as Error;
  assert.match(rebuilt.stack ?? '', /errors-crossing\.test[\s\S]*at async caller \(app\.js:1:1\)$/);
});

test('a hostile error (throwing getters, uncloneable fields) still serializes', () => {
  const error = new Error('hostile');
  Object.defineProperty(error, 'boom', {
    enumerable: true,
    get: () => {
      throw new Error('getter');
    },
  });
  const crossed = structuredClone(serializeError(error));
  assert.equal(crossed.kind, 'value');
  const weird = Object.assign(new Error('weird'), { fn: () => 1, sym: Symbol('s'), ok: 1 });
  const rebuilt = deserializeError(structuredClone(serializeError(weird))) as Error &
    Record<string, unknown>;
  assert.equal(rebuilt.ok, 1);
  assert.equal(rebuilt.fn, undefined);
});

test('findUncloneable names the path of the first leaf cloning refuses, and nothing for cloneable values', () => {
  fc.assert(
    fc.property(fc.jsonValue(), (value) => {
      assert.equal(findUncloneable(value, 'args'), undefined);
    }),
    { numRuns: 200, seed: 7 },
  );
  const cases: [unknown, string][] = [
    [[1, { model: { forward: () => 0 } }], 'args[1].model.forward'],
    [{ 'a key': Symbol('s') }, 'args["a key"]'],
    [new Set([1, Promise.resolve()]), 'args<Set item 1>'],
    [new Map([[1, new WeakSet()]]), 'args.get(1)'],
  ];
  for (const [value, path] of cases) assert.equal(findUncloneable(value, 'args')?.path, path);
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  cyclic.fn = () => 1;
  assert.equal(findUncloneable(cyclic, 'args')?.path, 'args.fn');
});
