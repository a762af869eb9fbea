/**
 * Tensors as keel's collate makes them (`{ data, shape, dtype }`), and the helpers both
 * `defaultCollate` and `joinChunks` use to recognise, name and concatenate TypedArrays.
 * Pure functions with no I/O, used on both sides of a loader worker.
 */

import type { TypedArray } from '../values/typed-array.js';

/** Every TypedArray kind `defaultCollate` stacks (Float16Array where the platform has it). */
export type { TypedArray };

/** The element type of a `Tensor`, named after its TypedArray. */
export type DType =
  | 'int8'
  | 'uint8'
  | 'uint8clamped'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'float16'
  | 'float32'
  | 'float64'
  | 'int64'
  | 'uint64';

/**
 * A stacked array: `data` holds the elements in row-major order, `shape[0]` is the batch
 * dimension. A sample may itself be a `Tensor` (`dtype` optional there): it is stacked as one.
 */
export interface Tensor<A extends TypedArray = TypedArray> {
  /** The elements, row-major. */
  readonly data: A;
  /** The dimensions, the batch first. */
  readonly shape: readonly number[];
  /** The element type's name (`'float32'`, ...). */
  readonly dtype: DType;
}

/** The constructor of one TypedArray kind. */
export interface TypedArrayConstructor {
  new (length: number): TypedArray;
  readonly BYTES_PER_ELEMENT: number;
  readonly prototype: TypedArray;
  readonly name: string;
}

/** Allocates the array a joined leaf is copied into (the caller may place it in an arena). */
export type AllocateArray = (type: TypedArrayConstructor, length: number) => TypedArray;

const kDTypes = new Map<unknown, DType>([
  [Int8Array, 'int8'],
  [Uint8Array, 'uint8'],
  [Uint8ClampedArray, 'uint8clamped'],
  [Int16Array, 'int16'],
  [Uint16Array, 'uint16'],
  [Int32Array, 'int32'],
  [Uint32Array, 'uint32'],
  [Float32Array, 'float32'],
  [Float64Array, 'float64'],
  [BigInt64Array, 'int64'],
  [BigUint64Array, 'uint64'],
]);
const kFloat16Array = (globalThis as { Float16Array?: unknown }).Float16Array;
if (kFloat16Array !== undefined) kDTypes.set(kFloat16Array, 'float16');

/** A TypedArray or a Tensor, taken apart. */
export interface TensorParts {
  readonly data: TypedArray;
  readonly type: TypedArrayConstructor;
  readonly shape: readonly number[];
}

/** A TypedArray (shape [length]) or a Tensor, seen the same way; undefined for anything else. */
export function asTensor(value: unknown): TensorParts | undefined {
  if (isTensor(value)) {
    const type = constructorOf(value.data);
    return type && { data: value.data, type, shape: value.shape };
  }
  const type = constructorOf(value);
  return type && { data: value as TypedArray, type, shape: [(value as TypedArray).length] };
}

export function isTensor(value: unknown): value is Tensor {
  if (!isPlainObject(value)) return false;
  const { data, shape } = value as { data?: unknown; shape?: unknown };
  return (
    constructorOf(data) !== undefined &&
    Array.isArray(shape) &&
    shape.every((size) => Number.isInteger(size) && (size as number) >= 0)
  );
}

/** The TypedArray constructor of a value (a Buffer counts as a Uint8Array). */
export function constructorOf(value: unknown): TypedArrayConstructor | undefined {
  if (!ArrayBuffer.isView(value) || value instanceof DataView) return undefined;
  if (value instanceof Uint8Array && !kDTypes.has(value.constructor)) return Uint8Array;
  const type = value.constructor;
  return kDTypes.has(type) ? (type as TypedArrayConstructor) : undefined;
}

export function dtypeOf(type: TypedArrayConstructor): DType {
  return kDTypes.get(type)!;
}

export function concatenate(
  type: TypedArrayConstructor,
  parts: readonly TypedArray[],
  allocate: AllocateArray,
): TypedArray {
  const total = parts.reduce((sum, part) => sum + part.length, 0);
  const data = allocate(type, total);
  let offset = 0;
  for (const part of parts) {
    (data as Uint8Array).set(part as Uint8Array, offset);
    offset += part.length;
  }
  return data;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((size, index) => size === b[index]);
}

export function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((key) => b.includes(key));
}

export function isListLeaf(value: unknown): boolean {
  return (
    value === null || value === undefined || typeof value === 'string' || typeof value === 'boolean'
  );
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
}

/** How error messages name what a value is. */
export function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return `a ${typeof value}`;
  return `an instance of ${(value as { constructor?: { name?: string } }).constructor?.name ?? 'Object'}`;
}
