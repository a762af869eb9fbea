/**
 * The TypedArray kinds keel carries (SharedObject slots, collated tensors), as one union type.
 * Float16Array is left out: Node 20 does not have it.
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
