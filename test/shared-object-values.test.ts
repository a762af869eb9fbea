// Every value kind round-trips through a SharedObject slot with its kind intact, and fetch(fn)
// hands fn a consistent view without letting the slot's memory escape.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { SharedObject } from '../dist/memory/shared-object/index.js';
import { kWord } from '../dist/memory/shared-object/layout.js';
import { sameLayout, sharedValue } from './shared-object-arbitraries.ts';

let counter = 0;
const uniqueName = (prefix: string): string => `${prefix}-values-${++counter}`;

test('every value kind round-trips: fetch returns what was created and then assigned, kind included', () => {
  fc.assert(
    fc.property(
      sharedValue.chain((first) => fc.tuple(fc.constant(first), sameLayout(first))),
      ([first, second]) => {
        const name = uniqueName('prop');
        const writer = SharedObject.create(name, first as never);
        const reader = SharedObject.open(name);
        try {
          assert.deepStrictEqual(reader.fetch(), first);
          writer.assign(second as never);
          assert.deepStrictEqual(reader.fetch(), second);
          reader.fetch((view) => {
            assert.deepStrictEqual(view, second);
          });
        } finally {
          writer.close();
          reader.close();
          SharedObject.unlink(name);
        }
      },
    ),
    { numRuns: 300 },
  );
});

test('scalars keep their exact value: -0, NaN, infinities, int64 limits, empty and long strings', () => {
  const cases: unknown[] = [
    -0,
    NaN,
    Infinity,
    -Infinity,
    Number.MIN_VALUE,
    2n ** 63n - 1n,
    -(2n ** 63n),
    '',
    'a\u0000b\u0000\u0000',
  ];
  for (const value of cases) {
    const name = uniqueName('scalar');
    const so = SharedObject.create(name, value as never);
    assert.ok(Object.is(so.fetch(), value), `round trip of ${String(value)}`);
    so.close();
    SharedObject.unlink(name);
  }
});

test('a string slot holds up to its byte capacity: default max(2 x initial UTF-8 bytes, 64), or the capacity option', () => {
  const small = SharedObject.create(uniqueName('str'), 'abc');
  small.assign('é'.repeat(32)); // 64 bytes
  assert.equal(small.fetch(), 'é'.repeat(32));
  assert.throws(() => small.assign('x'.repeat(65)), { code: 'ERR_TYPE_MISMATCH' });
  const long = SharedObject.create(uniqueName('str'), 'x'.repeat(100));
  long.assign('y'.repeat(200));
  assert.throws(() => long.assign('y'.repeat(201)), { code: 'ERR_TYPE_MISMATCH' });
  long.assign('short'); // shorter strings always fit
  assert.equal(long.fetch(), 'short');
  const sized = SharedObject.create(uniqueName('str'), '', { capacity: 1000 });
  sized.assign('z'.repeat(1000));
  assert.equal(sized.fetch().length, 1000);
});

test('a TypedArray slot keeps its shape on the handle: the option, or [length] by default', () => {
  const name = uniqueName('shape');
  const frame = SharedObject.create(name, new Uint8Array(24), { shape: [2, 4, 3] });
  assert.deepEqual(frame.shape, [2, 4, 3]);
  assert.deepEqual(SharedObject.open(name).shape, [2, 4, 3]);
  assert.deepEqual(SharedObject.create(uniqueName('shape'), new Float64Array(5)).shape, [5]);
  assert.equal(SharedObject.create(uniqueName('shape'), 3).shape, undefined);
  assert.throws(
    () => SharedObject.create(uniqueName('shape'), new Uint8Array(24), { shape: [5, 5] }),
    {
      code: 'ERR_INVALID_ARGUMENT',
    },
  );
});

test('fetch() returns a caller-owned copy: mutating it leaves the slot unchanged', () => {
  const so = SharedObject.create(uniqueName('copy'), { data: new Float32Array([1, 2, 3]), n: 1 });
  const copy = so.fetch();
  copy.data[0] = 99;
  assert.notEqual(copy.data.buffer, so.buffer);
  assert.deepEqual(so.fetch().data, new Float32Array([1, 2, 3]));
});

test('fetch(fn) passes a view of the same kind and returns fn result; a returned view of the slot is copied', () => {
  const so = SharedObject.create(uniqueName('view'), new Float64Array([1, 2, 3, 4]));
  assert.equal(
    so.fetch((view) => view.reduce((sum, x) => sum + x, 0)),
    10,
  );
  assert.ok(
    so.fetch((view) => view instanceof Float64Array && (view.buffer as unknown) === so.buffer),
  );
  const escaped = so.fetch((view) => view.subarray(1, 3));
  assert.notEqual(escaped.buffer, so.buffer);
  so.assign(new Float64Array([5, 6, 7, 8]));
  assert.deepEqual(escaped, new Float64Array([2, 3]));
  const inObject = so.fetch((view) => ({ whole: view, first: view[0] }));
  assert.notEqual(inObject.whole.buffer, so.buffer);
});

test('fetch(fn) releases its pin when fn throws, and the error reaches the caller', () => {
  const so = SharedObject.create(uniqueName('throw'), new Uint8Array(8));
  assert.throws(
    () =>
      so.fetch(() => {
        throw new RangeError('inside');
      }),
    RangeError,
  );
  const words = new Int32Array(so.buffer, 0, 64);
  assert.deepEqual([words[kWord.pins], words[kWord.pins + 1], words[kWord.pins + 2]], [0, 0, 0]);
});

test('a Buffer slot fetches a Buffer and a Uint8Array slot a Uint8Array; each accepts the other on assign', () => {
  const buffer = SharedObject.create(uniqueName('buf'), Buffer.from('abcd'));
  const bytes = SharedObject.create(uniqueName('u8'), new Uint8Array(4));
  buffer.assign(new Uint8Array([1, 2, 3, 4]) as never);
  bytes.assign(Buffer.from('wxyz'));
  assert.ok(Buffer.isBuffer(buffer.fetch()));
  assert.ok(!Buffer.isBuffer(bytes.fetch()) && bytes.fetch() instanceof Uint8Array);
  assert.deepEqual([...buffer.fetch()], [1, 2, 3, 4]);
  assert.equal(Buffer.from(bytes.fetch()).toString(), 'wxyz');
});

test('create rejects values that cannot live in a slot, naming the path', () => {
  const bad: [unknown, RegExp][] = [
    [[1, 2], /initial must be/],
    [{ a: { b: () => 1 } }, /initial\.a\.b must be/],
    [new Date(), /initial must be/],
    [new DataView(new ArrayBuffer(4)), /initial must be/],
    [undefined, /initial must be/],
    [2n ** 64n, /int64/],
  ];
  for (const [value, message] of bad) {
    assert.throws(() => SharedObject.create(uniqueName('bad'), value as never), {
      code: 'ERR_INVALID_ARGUMENT',
      message,
    });
  }
});
