// assign() accepts only values of the slot's fixed layout; anything else is ERR_TYPE_MISMATCH
// with a message naming the part that differs, and leaves the slot untouched.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeelError } from '../dist/errors.js';
import { SharedObject } from '../dist/memory/shared-object/index.js';
import { readGeometry } from '../dist/memory/shared-object/layout.js';

let counter = 0;
const uniqueName = (): string => `mismatch-${++counter}`;

const oneOfEachKind: Record<string, unknown> = {
  null: null,
  boolean: true,
  number: 1.5,
  bigint: 7n,
  string: 'text',
  Uint8Array: new Uint8Array(4),
  Float32Array: new Float32Array(4),
  Buffer: Buffer.alloc(4),
  object: { a: 1 },
};

test('assigning a value of another kind fails with ERR_TYPE_MISMATCH, for every pair of kinds', () => {
  for (const [slotKind, initial] of Object.entries(oneOfEachKind)) {
    const so = SharedObject.create(uniqueName(), initial as never);
    for (const [valueKind, value] of Object.entries(oneOfEachKind)) {
      const compatible =
        valueKind === slotKind ||
        (['Uint8Array', 'Buffer'].includes(valueKind) &&
          ['Uint8Array', 'Buffer'].includes(slotKind));
      if (compatible) {
        so.assign(value as never);
        continue;
      }
      assert.throws(
        () => so.assign(value as never),
        (error: unknown) => error instanceof KeelError && error.code === 'ERR_TYPE_MISMATCH',
        `${valueKind} into a ${slotKind} slot`,
      );
    }
  }
});

test('a TypedArray slot rejects another dtype or length, and says which', () => {
  const so = SharedObject.create(uniqueName(), new Float32Array(6), { shape: [2, 3] });
  assert.throws(() => so.assign(new Float64Array(6) as never), {
    code: 'ERR_TYPE_MISMATCH',
    message: /value must be a Float32Array of 6 elements, got a Float64Array of 6 elements/,
  });
  assert.throws(() => so.assign(new Float32Array(7)), {
    code: 'ERR_TYPE_MISMATCH',
    message: /got a Float32Array of 7 elements/,
  });
  assert.throws(() => so.assign(new Uint8ClampedArray(6) as never), { code: 'ERR_TYPE_MISMATCH' });
});

test('an object slot rejects missing, extra or retyped keys, naming the nested path', () => {
  const so = SharedObject.create(uniqueName(), {
    t: 0,
    pose: { xyz: new Float64Array(3), label: 'a' },
  });
  const xyz = new Float64Array(3);
  assert.throws(() => so.assign({ t: 0 } as never), {
    code: 'ERR_TYPE_MISMATCH',
    message: /keys \[t, pose\]/,
  });
  assert.throws(() => so.assign({ t: 0, pose: { xyz, label: 'a' }, extra: 1 } as never), {
    code: 'ERR_TYPE_MISMATCH',
  });
  assert.throws(
    () => so.assign({ t: 0, pose: { xyz: new Float32Array(3), label: 'a' } } as never),
    {
      code: 'ERR_TYPE_MISMATCH',
      message: /value\.pose\.xyz must be a Float64Array of 3 elements/,
    },
  );
  assert.throws(() => so.assign({ t: '0', pose: { xyz, label: 'a' } } as never), {
    code: 'ERR_TYPE_MISMATCH',
    message: /value\.t must be a number/,
  });
  // Key order does not matter: the layout is matched by name.
  so.assign({ pose: { label: 'b', xyz }, t: 2 });
  assert.equal(so.fetch().t, 2);
});

test('a string over capacity and a bigint outside int64 are mismatches too', () => {
  const text = SharedObject.create(uniqueName(), 'x', { capacity: 4 });
  assert.throws(() => text.assign('12345'), {
    code: 'ERR_TYPE_MISMATCH',
    message: /at most 4 UTF-8 bytes, got a string of 5 UTF-8 bytes/,
  });
  assert.throws(() => text.assign('ééé'), { code: 'ERR_TYPE_MISMATCH' }); // 3 chars, 6 bytes
  const big = SharedObject.create(uniqueName(), 0n);
  assert.throws(() => big.assign(2n ** 63n), { code: 'ERR_TYPE_MISMATCH', message: /int64/ });
});

test('a rejected assign writes nothing and signals nothing', () => {
  const name = uniqueName();
  const writer = SharedObject.create(name, new Uint8Array([1, 2, 3]));
  const reader = SharedObject.open(name);
  const mtime = writer.mtime;
  assert.throws(() => writer.assign(new Uint8Array(4)), { code: 'ERR_TYPE_MISMATCH' });
  assert.equal(reader.modified, false);
  assert.equal(writer.mtime, mtime);
  assert.deepEqual(reader.fetch(), new Uint8Array([1, 2, 3]));
});

test('a value whose getter throws while it is written publishes nothing, and the slot stays whole', () => {
  const name = uniqueName();
  const writer = SharedObject.create(name, { a: new Float64Array([1, 1]), b: 1 });
  const reader = SharedObject.open(name);
  let reads = 0;
  const tricky = {
    a: new Float64Array([2, 2]),
    get b(): number {
      if (++reads > 1) throw new Error('second read');
      return 2;
    },
  };
  assert.throws(() => writer.assign(tricky), /second read/);
  assert.equal(reader.modified, false);
  // The half-written copy was restored: a reader still pinning it from long ago reads a whole value.
  const { copyOffsetBytes, copyStrideBytes, descriptor } = readGeometry(writer.buffer);
  const copyBytes = (copy: number) =>
    new Uint8Array(writer.buffer, copyOffsetBytes + copy * copyStrideBytes, descriptor.valueBytes);
  assert.deepEqual(copyBytes(1), copyBytes(0));
  assert.deepEqual(reader.fetch(), { a: new Float64Array([1, 1]), b: 1 });
  // Every copy holds a whole value: cycle through all three.
  for (const n of [3, 4, 5, 6]) {
    writer.assign({ a: new Float64Array([n, n]), b: n });
    assert.deepEqual(reader.fetch(), { a: new Float64Array([n, n]), b: n });
  }
});
