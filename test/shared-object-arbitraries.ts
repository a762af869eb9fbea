/**
 * fast-check arbitraries of SharedObject values, for the property tests: every value kind a slot
 * holds (nested objects included), and another value of the same layout.
 */
import fc from 'fast-check';

const int64 = fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n);
// At most 16 code points of at most 4 UTF-8 bytes: always within the default capacity (64).
const shortString = fc.string({ unit: 'binary', maxLength: 16 });

const typedArray = fc.oneof(
  fc.int8Array({ maxLength: 24 }),
  fc.uint8Array({ maxLength: 24 }),
  fc.uint8ClampedArray({ maxLength: 24 }),
  fc.int16Array({ maxLength: 24 }),
  fc.uint16Array({ maxLength: 24 }),
  fc.int32Array({ maxLength: 24 }),
  fc.uint32Array({ maxLength: 24 }),
  fc.float32Array({ maxLength: 24 }),
  fc.float64Array({ maxLength: 24 }),
  fc.bigInt64Array({ maxLength: 24 }),
  fc.bigUint64Array({ maxLength: 24 }),
  fc.uint8Array({ maxLength: 24 }).map((bytes) => Buffer.from(bytes)),
);

const leaf = fc.oneof(fc.constant(null), fc.boolean(), fc.double(), int64, shortString, typedArray);
const key = fc.oneof(
  fc.string({ maxLength: 6 }),
  fc.constantFrom('__proto__', 'constructor', 'toString'),
);

export const { value: sharedValue } = fc.letrec<{
  value: unknown;
  object: Record<string, unknown>;
}>((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, tie('object')),
  object: fc.dictionary(key, tie('value'), { maxKeys: 4, noNullPrototype: true }),
}));

/** Another value with the same layout as `value` (same kinds, types, lengths and keys). */
export function sameLayout(value: unknown): fc.Arbitrary<unknown> {
  if (value === null) return fc.constant(null);
  if (typeof value === 'boolean') return fc.boolean();
  if (typeof value === 'number') return fc.double();
  if (typeof value === 'bigint') return int64;
  if (typeof value === 'string') return shortString;
  if (ArrayBuffer.isView(value)) {
    const length = (value as Uint8Array).length;
    return fc
      .uint8Array({ minLength: value.byteLength, maxLength: value.byteLength })
      .map((bytes) => {
        if (Buffer.isBuffer(value)) return Buffer.from(bytes);
        const Ctor = value.constructor as new (
          buffer: ArrayBuffer,
          offset: number,
          length: number,
        ) => unknown;
        return new Ctor(bytes.buffer, 0, length);
      });
  }
  const record = value as Record<string, unknown>;
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const name of Object.keys(record)) {
    Object.defineProperty(model, name, { value: sameLayout(record[name]), enumerable: true });
  }
  // fetch() builds ordinary objects: compare against ordinary objects.
  return fc.record(model, { noNullPrototype: true });
}
