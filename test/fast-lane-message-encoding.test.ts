// The fast lane's message encoding: whatever path a value takes (compact or V8), it decodes to
// what V8's own serialize/deserialize round trip gives, and never to a view of the shared ring.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deserialize, serialize } from 'node:v8';
import { inspect } from 'node:util';
import { MessageChannel } from 'node:worker_threads';
import fc from 'fast-check';
import { MessageDecoder, MessageEncoder } from '../dist/transport/fast-lane/message-encoding.js';
import { isWireArray, wireArray } from '../dist/values/wire-array.js';

const kSeed = 20261121;

/** Encodes `value`, copies the bytes into shared memory at `offset`, and decodes them there. */
function roundTrip(value: unknown, offset = 128) {
  const encoder = new MessageEncoder();
  const shared = new SharedArrayBuffer(offset + 256 * 1024);
  const byteLength = encoder.encode(value);
  new Uint8Array(shared).set(encoder.encodedBytes.subarray(0, byteLength), offset);
  const decoded = new MessageDecoder(shared).decode(offset, byteLength);
  return { decoded, kind: encoder.lastKind, shared, offset, byteLength };
}

const kAnything = fc.anything({
  maxDepth: 3,
  withBigInt: true,
  withBoxedValues: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withNullPrototype: true,
  withObjectString: true,
  withSparseArray: true,
  withTypedArray: true,
  stringUnit: 'binary', // any UTF-16 code units, lone surrogates included
});

test('any value decodes to what a V8 serialize/deserialize round trip gives', () => {
  fc.assert(
    fc.property(kAnything, fc.constantFrom(128, 132, 133), (value, offset) => {
      assert.deepStrictEqual(roundTrip(value, offset).decoded, deserialize(serialize(value)));
    }),
    { seed: kSeed, numRuns: 2000 },
  );
});

test('one decoder reading many messages returns every short string as sent, whatever its cache holds', () => {
  // The decoder keeps the short ASCII strings it met last (keys, message types) in a small
  // table: strings that share a slot, and strings met again after being evicted, must still
  // come back exactly as they were sent.
  const encoder = new MessageEncoder();
  const shared = new SharedArrayBuffer(64 * 1024);
  const decoder = new MessageDecoder(shared);
  const shortAscii = fc.string({
    unit: fc.constantFrom(...Array.from('abcdefghijklmnopqrstuvwxyz_$0123456789')),
    maxLength: 12,
  });
  const message = fc.tuple(
    fc.dictionary(shortAscii, shortAscii, { maxKeys: 24 }),
    fc.array(fc.oneof(shortAscii, fc.string({ maxLength: 6 })), { maxLength: 12 }),
  );
  fc.assert(
    fc.property(message, (value) => {
      const byteLength = encoder.encode(value);
      new Uint8Array(shared).set(encoder.encodedBytes.subarray(0, byteLength), 0);
      assert.deepStrictEqual(decoder.decode(0, byteLength), deserialize(serialize(value)));
    }),
    { seed: kSeed, numRuns: 3000 },
  );
});

test('small values made of primitives, short arrays and plain objects take the compact encoding', () => {
  const compact = [
    undefined,
    null,
    true,
    false,
    0,
    -0,
    NaN,
    -Infinity,
    2 ** 53 + 2,
    '',
    'héllo wörld 漢字 😀',
    [1, 2, 3.5],
    [7, 'step', [0.1, 0.2], null],
    { type: 'call', id: 7, method: 'step', args: [1, { deep: true }] },
    Object.assign(Object.create(null) as object, { a: 1 }),
    { 0: 'a', 1: 'b', z: 'c' },
    new Float64Array([0.5, -1, 2 ** 60]),
    { joints: new Float32Array(7).fill(0.25), stamp: 12 },
    [new Int16Array([1, -2, 3]), new BigInt64Array([5n, -6n]), new Uint8ClampedArray([300])],
    Buffer.from('buffer'),
    new DataView(new Uint8Array([1, 2, 3, 4]).buffer),
    new Float64Array(new ArrayBuffer(64), 16, 3).fill(7), // a view into a larger buffer
    new Float64Array(1024).fill(1.5), // 8 KiB exactly
  ];
  for (const value of compact) {
    const { decoded, kind } = roundTrip(value);
    assert.equal(kind, 'compact', `${inspect(value)} is compact`);
    assert.deepStrictEqual(decoded, deserialize(serialize(value)));
  }
});

test('values only V8 preserves exactly fall back to the V8 encoding and keep holes, extra properties, identities and lone surrogates', () => {
  const shared = { x: 1 };
  const holey = [1, , 3]; // eslint-disable-line no-sparse-arrays
  const extra = Object.assign([1, 2], { label: 'extra' });
  const protoKey = JSON.parse('{"__proto__": 5, "b": 1}') as object;
  const cases: Array<[string, unknown]> = [
    ['shared reference', { a: shared, b: shared }],
    ['holey array', holey],
    ['array with a named property', extra],
    ['lone surrogate', 'x\ud800y'],
    ['own __proto__ key', protoKey],
    ['long array', Array.from({ length: 17 }, (_, i) => i)],
    ['bigint', 10n],
    ['date', new Date(5)],
    [
      'class instance',
      new (class Point {
        x = 1;
      })(),
    ],
    ['a TypedArray subclass', new (class Samples extends Float32Array {})([1, 2])],
    ['a TypedArray over 8 KiB', new Float64Array(1025).fill(0.5)],
  ];
  for (const [name, value] of cases) {
    const { decoded, kind } = roundTrip(value);
    assert.equal(kind, 'v8', name);
    assert.deepStrictEqual(decoded, deserialize(serialize(value)), name);
  }
  const { decoded } = roundTrip({ a: shared, b: shared });
  const pair = decoded as { a: object; b: object };
  assert.equal(pair.a, pair.b, 'the shared reference is one object again');
  assert.equal(Object.getPrototypeOf(roundTrip(protoKey).decoded), Object.prototype);
  assert.equal((roundTrip('x\ud800y').decoded as string).charCodeAt(1), 0xd800);
});

test("keel's own wire arrays take the compact encoding at any length and arrive as plain arrays, inside a message or over a port", async () => {
  const numbers = wireArray<number>(40);
  for (let index = 0; index < 40; index++) numbers[index] = index * 3 - 7;
  const keys = wireArray<string | number>();
  keys.push('frame', 0);
  const message = { type: 'item', value: [null, keys, numbers], packed: true };
  const { decoded, kind } = roundTrip(message);
  assert.equal(kind, 'compact', 'a 40-entry wire array is not "long"');
  assert.deepStrictEqual(decoded, {
    type: 'item',
    value: [null, ['frame', 0], numbers.slice()],
    packed: true,
  });
  const arrived = (decoded as { value: unknown[][] }).value[2]!;
  assert.equal(Object.getPrototypeOf(arrived), Array.prototype);
  assert.equal(
    isWireArray(arrived),
    false,
    'the mark does not cross: a decoded array is a user array',
  );
  assert.equal(
    roundTrip(Array.from(numbers)).kind,
    'v8',
    'the same numbers in a user array are checked as usual',
  );
  const { port1, port2 } = new MessageChannel();
  const posted = new Promise<unknown>((resolve) => port2.once('message', resolve));
  port1.postMessage(numbers);
  const cloned = (await posted) as unknown[];
  port1.close();
  assert.deepStrictEqual(cloned, numbers.slice());
  assert.deepStrictEqual(
    Object.keys(cloned).length,
    40,
    'structured cloning carries no mark either',
  );
});

test('decoded binary leaves own an exact-size ArrayBuffer and survive the ring being overwritten', () => {
  for (const offset of [128, 129, 131]) {
    const source = {
      f: new Float64Array([1.5, -2]),
      b: Buffer.from('abc'),
      d: new DataView(new ArrayBuffer(6)),
    };
    const { decoded, shared } = roundTrip(source, offset);
    const value = decoded as typeof source;
    for (const leaf of [value.f, value.b, value.d]) {
      assert.ok(leaf.buffer instanceof ArrayBuffer, 'not a SharedArrayBuffer');
      assert.equal(leaf.buffer.byteLength, leaf.byteLength);
    }
    assert.ok(Buffer.isBuffer(value.b));
    new Uint8Array(shared).fill(0xff);
    assert.deepStrictEqual([...value.f], [1.5, -2]);
    assert.equal(value.b.toString(), 'abc');
  }
});

test("a value V8 cannot serialise makes encode throw V8's could-not-be-cloned error", () => {
  const encoder = new MessageEncoder();
  for (const value of [
    () => 1,
    { nested: [Symbol('s')] },
    new Proxy({}, {}),
    new SharedArrayBuffer(4),
  ]) {
    assert.throws(() => encoder.encode(value), { message: /could not be cloned/ });
  }
});

test('a value V8 would serialise only by breaking its sharing makes encode throw, so that it can go by postMessage', () => {
  const encoder = new MessageEncoder();
  const buffer = new ArrayBuffer(8);
  const aliased = [new Uint8Array(buffer, 0, 4), new Uint8Array(buffer, 4, 4)];
  for (const value of [new Int32Array(new SharedArrayBuffer(8)), { aliased }]) {
    assert.throws(() => encoder.encode(value), RangeError);
  }
  const sameView = new Uint8Array(4);
  assert.equal(
    encoder.encode([sameView, sameView]) > 0,
    true,
    'one view twice is plain V8 identity',
  );
  const { decoded } = roundTrip([sameView, sameView]);
  const pair = decoded as Uint8Array[];
  assert.equal(pair[0], pair[1]);
});
