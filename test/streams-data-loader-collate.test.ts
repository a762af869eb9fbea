import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { expectTypeOf } from 'expect-type';
import { KeelError, defaultCollate, type Collated, type Tensor } from 'keel';

function collateError(samples: unknown[]): KeelError {
  try {
    defaultCollate(samples);
  } catch (error) {
    assert.ok(error instanceof KeelError, 'a KeelError');
    assert.equal(error.code, 'ERR_INVALID_ARGUMENT');
    return error;
  }
  throw new Error('expected defaultCollate to throw');
}

const kTypedArrays = [
  [Int8Array, 'int8'],
  [Uint8Array, 'uint8'],
  [Uint8ClampedArray, 'uint8clamped'],
  [Int16Array, 'int16'],
  [Uint16Array, 'uint16'],
  [Int32Array, 'int32'],
  [Uint32Array, 'uint32'],
  [Float32Array, 'float32'],
  [Float64Array, 'float64'],
] as const;

describe('defaultCollate', () => {
  test('numbers stack into a float64 tensor with the batch as its only dimension', () => {
    const batch = defaultCollate([1.5, -2, 3]);
    assert.ok(batch.data instanceof Float64Array);
    assert.deepEqual(Array.from(batch.data), [1.5, -2, 3]);
    assert.deepEqual(batch.shape, [3]);
    assert.equal(batch.dtype, 'float64');
  });

  test('bigints stack into an int64 tensor', () => {
    const batch = defaultCollate([1n, -(2n ** 40n)]);
    assert.ok(batch.data instanceof BigInt64Array);
    assert.deepEqual(Array.from(batch.data), [1n, -(2n ** 40n)]);
    assert.equal(batch.dtype, 'int64');
  });

  for (const [Type, dtype] of kTypedArrays) {
    test(`${Type.name} samples stack into one ${Type.name} with a leading batch dimension`, () => {
      const samples = [Type.from([1, 2, 3]), Type.from([4, 5, 6])];
      const batch = defaultCollate(samples);
      assert.ok(batch.data instanceof Type);
      assert.equal(batch.data.constructor, Type);
      assert.deepEqual(Array.from(batch.data), [1, 2, 3, 4, 5, 6]);
      assert.deepEqual(batch.shape, [2, 3]);
      assert.equal(batch.dtype, dtype);
    });
  }

  for (const [Type, dtype] of [
    [BigInt64Array, 'int64'],
    [BigUint64Array, 'uint64'],
  ] as const) {
    test(`${Type.name} samples stack into one ${Type.name}`, () => {
      const batch = defaultCollate([Type.from([1n, 2n]), Type.from([3n, 4n])]);
      assert.equal(batch.data.constructor, Type);
      assert.deepEqual(Array.from(batch.data), [1n, 2n, 3n, 4n]);
      assert.deepEqual(batch.shape, [2, 2]);
      assert.equal(batch.dtype, dtype);
    });
  }

  test('Buffers stack into a Uint8Array', () => {
    const batch = defaultCollate([Buffer.from([1, 2]), Buffer.from([3, 4])]);
    assert.equal(batch.data.constructor, Uint8Array);
    assert.deepEqual(Array.from(batch.data), [1, 2, 3, 4]);
    assert.equal(batch.dtype, 'uint8');
  });

  test('tensor samples keep their shape behind the batch dimension', () => {
    const image = (value: number): Tensor<Uint8Array> => ({
      data: new Uint8Array(6).fill(value),
      shape: [2, 3],
      dtype: 'uint8',
    });
    const batch = defaultCollate([image(1), image(2)]);
    assert.deepEqual(batch.shape, [2, 2, 3]);
    assert.deepEqual(Array.from(batch.data), [1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2]);
  });

  test('nested objects and arrays are collated field by field; strings, booleans and null become lists', () => {
    const samples = [
      { image: new Float32Array([1, 2]), meta: { label: 3, name: 'a', ok: true }, pair: [1, null] },
      {
        image: new Float32Array([3, 4]),
        meta: { label: 4, name: 'b', ok: false },
        pair: [2, null],
      },
    ];
    const batch = defaultCollate(samples);
    assert.deepEqual(batch, {
      image: { data: new Float32Array([1, 2, 3, 4]), shape: [2, 2], dtype: 'float32' },
      meta: {
        label: { data: new Float64Array([3, 4]), shape: [2], dtype: 'float64' },
        name: ['a', 'b'],
        ok: [true, false],
      },
      pair: [{ data: new Float64Array([1, 2]), shape: [2], dtype: 'float64' }, [null, null]],
    });
  });

  test('mismatched shapes are refused with the path of the sample that differs', () => {
    const error = collateError([
      { x: new Float32Array(3) },
      { x: new Float32Array(3) },
      { x: new Float32Array(4) },
    ]);
    assert.match(error.message, /samples\[2\]\.x has shape \[4\], samples\[0\]\.x has \[3\]/);
  });

  test('mismatched element types, keys, lengths and kinds are refused clearly', () => {
    assert.match(
      collateError([new Float32Array(2), new Float64Array(2)]).message,
      /samples\[1\] must be a Float32Array like samples\[0\], got a Float64Array/,
    );
    assert.match(
      collateError([{ a: 1 }, { b: 1 }]).message,
      /samples\[1\] must be an object with keys a/,
    );
    assert.match(
      collateError([[1, 2], [1]]).message,
      /samples\[1\] must be an array of 2 elements/,
    );
    assert.match(collateError([1, 'two']).message, /samples\[1\] must be a number/);
    assert.match(
      collateError([new Map()]).message,
      /cannot stack samples\[0\]: it is an instance of Map/,
    );
    assert.match(collateError([]).message, /non-empty array/);
  });

  test('the types follow the samples', () => {
    const batch = defaultCollate([
      { x: new Uint16Array(2), y: 1, name: 'a', t: [1n, 'b'] as [bigint, string] },
    ]);
    expectTypeOf(batch).toEqualTypeOf<{
      x: Tensor<Uint16Array<ArrayBuffer>>;
      y: Tensor<Float64Array>;
      name: string[];
      t: [Tensor<BigInt64Array>, string[]];
    }>();
    expectTypeOf<Collated<Buffer>>().toEqualTypeOf<Tensor<Uint8Array>>();
  });
});
