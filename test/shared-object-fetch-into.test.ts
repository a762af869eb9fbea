// fetchInto(target) copies the latest value into memory the caller owns and returns it: the same
// value fetch() would return, written in place; targets that do not fit, or that alias the slot
// or each other, are refused before anything is copied. (Under concurrent writers: see
// shared-object-consistency.test.ts, whose readers use fetchInto for a third of their reads.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { SharedObject } from '../dist/memory/shared-object/index.js';
import { kWord } from '../dist/memory/shared-object/layout.js';
import { sameLayout, sharedValue } from './shared-object-arbitraries.ts';

let counter = 0;
const uniqueName = (): string => `fetch-into-${++counter}`;

/** The TypedArrays inside a value, depth first (the identities fetchInto must keep). */
function arraysOf(value: unknown): unknown[] {
  if (ArrayBuffer.isView(value)) return [value];
  if (typeof value !== 'object' || value === null) return [];
  return Object.values(value).flatMap(arraysOf);
}

test('fetchInto copies the latest frame into the caller’s array and returns that same array, which stays the caller’s', () => {
  const frame = new Uint8Array(480 * 848 * 3).map((_, i) => i * 7);
  const name = uniqueName();
  const cam = SharedObject.create(name, frame, { shape: [480, 848, 3] });
  const reader = SharedObject.open<Uint8Array>(name);
  const target = new Uint8Array(frame.length);
  assert.equal(reader.fetchInto(target), target);
  assert.deepEqual(target, frame);
  assert.notEqual(target.buffer, cam.buffer);
  target[0] = 255;
  assert.equal(reader.fetch()[0], 0, 'writing the target does not reach the slot');
  cam.assign(new Uint8Array(frame.length).fill(9));
  assert.equal(target[1], 7, 'a later assign does not reach the target');
  reader.fetchInto(target);
  assert.ok(target.every((byte) => byte === 9));
});

test('every TypedArray type works, small and large; Buffer and Uint8Array stand for each other; any memory of the caller will do', () => {
  const values = [
    new Int8Array([-1, 2]),
    new Uint8ClampedArray([255, 0, 3]),
    new Int16Array(1000).fill(-300),
    new Uint32Array([1, 2 ** 32 - 1]),
    new Float32Array(4096).fill(1.5),
    new Float64Array([-0, NaN, Infinity]),
    new BigInt64Array([-(2n ** 63n), 5n]),
    new BigUint64Array(2048).fill(2n ** 64n - 1n),
  ];
  for (const value of values) {
    const so = SharedObject.create(uniqueName(), value);
    const Ctor = value.constructor as new (length: number) => typeof value;
    const target = new Ctor(value.length);
    assert.deepStrictEqual(so.fetchInto(target), value, value.constructor.name);
  }
  const bufferSlot = SharedObject.create(uniqueName(), Buffer.from('abcd'));
  const bytesSlot = SharedObject.create(uniqueName(), new Uint8Array([1, 2, 3, 4]));
  const bytes = new Uint8Array(4);
  assert.equal(Buffer.from(bufferSlot.fetchInto(bytes as never)).toString(), 'abcd');
  const buffer = Buffer.alloc(4);
  assert.ok(Buffer.isBuffer(bytesSlot.fetchInto(buffer)));
  assert.deepEqual([...buffer], [1, 2, 3, 4]);
  // Memory the caller shares with other threads is the caller's too.
  const shared = new Uint8Array(new SharedArrayBuffer(4));
  bytesSlot.fetchInto(shared as never);
  assert.deepEqual([...shared], [1, 2, 3, 4]);
});

test('fetchInto marks the value read, as fetch does', () => {
  const name = uniqueName();
  const writer = SharedObject.create(name, new Float64Array(3));
  const reader = SharedObject.open<Float64Array>(name);
  writer.assign(new Float64Array([1, 2, 3]));
  assert.equal(reader.modified, true);
  reader.fetchInto(new Float64Array(3));
  assert.equal(reader.modified, false);
  assert.equal(reader.triggered, false);
});

test('an object target is filled in place: its arrays copied into, nested objects kept, other fields replaced', () => {
  const name = uniqueName();
  const initial = {
    t: 0,
    ok: false,
    id: 0n,
    label: '',
    none: null,
    pose: { xyz: new Float64Array(3), frame: new Uint8Array(4096) },
    ['__proto__']: 1,
  };
  const slot = SharedObject.create(name, initial);
  slot.assign({
    t: -0,
    ok: true,
    id: -7n,
    label: 'élan',
    none: null,
    pose: { xyz: new Float64Array([1, NaN, 3]), frame: new Uint8Array(4096).fill(4) },
    ['__proto__']: 2,
  });
  const target = SharedObject.open<typeof initial>(name).fetch();
  const { pose } = target;
  const { xyz, frame } = pose;
  slot.assign({
    t: 5,
    ok: false,
    id: 2n ** 62n,
    label: 'x'.repeat(20),
    none: null,
    pose: { xyz: new Float64Array([-0, 0, 1]), frame: new Uint8Array(4096).fill(8) },
    ['__proto__']: 3,
  });
  assert.equal(SharedObject.open<typeof initial>(name).fetchInto(target), target);
  assert.deepStrictEqual(target, slot.fetch());
  assert.ok(Object.is(target.pose.xyz[0], -0));
  assert.equal(Object.getPrototypeOf(target), Object.prototype, '__proto__ stays an own field');
  assert.ok(target.pose === pose && pose.xyz === xyz && pose.frame === frame);
});

test('a null-prototype object and an object of scalars only are targets too', () => {
  const slot = SharedObject.create(uniqueName(), { x: 1.5, on: true });
  const target = Object.assign(Object.create(null) as { x: number; on: boolean }, {
    x: 0,
    on: false,
  });
  slot.fetchInto(target);
  assert.deepEqual({ ...target }, { x: 1.5, on: true });
});

test('property: fetchInto(a target of the slot’s layout) leaves it equal to what fetch() returns, its arrays the same objects', () => {
  const fillable = sharedValue.filter((value) => typeof value === 'object' && value !== null);
  fc.assert(
    fc.property(
      fillable.chain((first) => fc.tuple(fc.constant(first), sameLayout(first), sameLayout(first))),
      ([first, second, target]) => {
        const name = uniqueName();
        const so = SharedObject.create(name, first as never);
        try {
          so.assign(second as never);
          const arrays = arraysOf(target);
          assert.equal(so.fetchInto(target as never), target);
          assert.deepStrictEqual(target, so.fetch());
          const after = arraysOf(target);
          assert.ok(
            arrays.length === after.length && arrays.every((array, i) => array === after[i]),
          );
        } finally {
          so.close();
          SharedObject.unlink(name);
        }
      },
    ),
    { numRuns: 300 },
  );
});

test('a target of another type, length or layout is ERR_TYPE_MISMATCH naming the part, and is left untouched', () => {
  const frame = SharedObject.create(uniqueName(), new Float32Array([1, 2, 3]));
  const other = new Float64Array([7, 7, 7]);
  assert.throws(() => frame.fetchInto(other as never), {
    code: 'ERR_TYPE_MISMATCH',
    message: /target must be a Float32Array of 3 elements, got a Float64Array of 3 elements/,
  });
  assert.deepEqual(other, new Float64Array([7, 7, 7]));
  assert.throws(() => frame.fetchInto(new Float32Array(4)), {
    code: 'ERR_TYPE_MISMATCH',
    message: /got a Float32Array of 4 elements/,
  });
  for (const wrong of [null, 3, 'abc', [1, 2, 3], new DataView(new ArrayBuffer(12))]) {
    assert.throws(() => frame.fetchInto(wrong as never), { code: 'ERR_TYPE_MISMATCH' });
  }
  const pose = SharedObject.create(uniqueName(), { t: 0, xyz: new Float64Array(3) });
  const partial = { t: 9, xyz: new Float32Array(3) };
  assert.throws(() => pose.fetchInto(partial as never), {
    code: 'ERR_TYPE_MISMATCH',
    message: /target\.xyz must be a Float64Array of 3 elements/,
  });
  assert.equal(partial.t, 9, 'nothing was written before the check failed');
  assert.throws(() => pose.fetchInto({ t: 0 } as never), {
    code: 'ERR_TYPE_MISMATCH',
    message: /target must be a plain object with the keys \[t, xyz\]/,
  });
});

test('a scalar, string or null slot has nothing to copy into: ERR_TYPE_MISMATCH pointing to fetch()', () => {
  for (const initial of [1.5, 7n, true, 'text', null]) {
    const so = SharedObject.create(uniqueName(), initial as never);
    assert.throws(() => so.fetchInto(initial as never), {
      code: 'ERR_TYPE_MISMATCH',
      message: /fetchInto needs a TypedArray or object slot, this slot holds .* \(use fetch\(\)\)/,
    });
  }
});

test('a target array over the slot’s own memory, or two target arrays over the same bytes, are ERR_INVALID_ARGUMENT', () => {
  const so = SharedObject.create(uniqueName(), new Uint8Array(64));
  // Any 64 bytes of the slot's buffer (here its header): writing there would break the slot.
  const view = new Uint8Array(so.buffer, 0, 64);
  assert.throws(() => so.fetchInto(view as never), {
    code: 'ERR_INVALID_ARGUMENT',
    message: /target must be memory the caller owns, got a view of this slot's shared memory/,
  });
  const pair = SharedObject.create(uniqueName(), {
    a: new Float64Array(4),
    b: { c: new Float64Array(4) },
  });
  const memory = new ArrayBuffer(64);
  assert.throws(
    () =>
      pair.fetchInto({
        a: new Float64Array(memory, 0, 4),
        b: { c: new Float64Array(memory, 24, 4) },
      }),
    { code: 'ERR_INVALID_ARGUMENT', message: /target\.b\.c must not share memory with target\.a/ },
  );
  const apart = { a: new Float64Array(memory, 0, 4), b: { c: new Float64Array(memory, 32, 4) } };
  assert.equal(pair.fetchInto(apart), apart, 'adjacent views of one buffer are fine');
});

test('fetchInto on a closed handle is ERR_CLOSED', () => {
  const so = SharedObject.create(uniqueName(), new Uint8Array(4));
  so.close();
  assert.throws(() => so.fetchInto(new Uint8Array(4)), { code: 'ERR_CLOSED' });
});

test('a fetchInto whose copy a writer forced its way into copies again: the target holds one whole, newer value', () => {
  const name = uniqueName();
  const slot = SharedObject.create(name, { n: 0, data: new Float64Array(4) });
  const assign = (n: number): void => {
    slot.assign({ n, data: new Float64Array(4).fill(n) });
  };
  // The target's setter runs inside fetchInto while it pins copy 0 (the latest). There, two
  // nested fetch(fn) calls pin copies 1 and 2 as they become the latest, so that the third
  // assign finds every spare copy pinned and forces its way into copy 0, the older spare.
  let sets = 0;
  let held = -1;
  const target = {
    get n(): number {
      return held;
    },
    set n(value: number) {
      held = value;
      if (++sets > 1) return;
      assign(1);
      slot.fetch(() => {
        assign(2);
        slot.fetch(() => {
          assign(3);
        });
      });
    },
    data: new Float64Array(4),
  };
  slot.fetchInto(target);
  assert.equal(sets, 2, 'the first copy failed validation and was copied again');
  assert.equal(target.n, 3);
  assert.deepEqual(target.data, new Float64Array(4).fill(3));
});

test('an error thrown by a setter of the target reaches the caller and releases the pinned copy', () => {
  const slot = SharedObject.create(uniqueName(), { n: 1 });
  const target = {
    get n(): number {
      return 0;
    },
    set n(_value: number) {
      throw new RangeError('read-only');
    },
  };
  assert.throws(() => slot.fetchInto(target), RangeError);
  const words = new Int32Array(slot.buffer, 0, 64);
  assert.deepEqual([words[kWord.pins], words[kWord.pins + 1], words[kWord.pins + 2]], [0, 0, 0]);
});
