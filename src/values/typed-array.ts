/**
 * The TypedArray kinds keel carries (SharedObject slots, collated tensors, the fast lane's
 * compact views), as one union type and one table of constructors. Float16Array is left out:
 * Node 20 does not have it.
 */
export type TypedArray =
  | Int8Array
  | Uint8Array
  | Uint8ClampedArray
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

/** The constructors of every TypedArray kind, by name, in a fixed order (codes index it). */
export const kTypedArrayConstructors = {
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
} as const;
