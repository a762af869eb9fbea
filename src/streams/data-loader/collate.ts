/**
 * `defaultCollate`: samples to one batch, and `joinChunks`: the collated chunks of one batch to
 * that batch. Pure functions with no I/O, used on both sides: a loader worker collates its chunk,
 * the caller only joins chunks (one copy per binary leaf, no per-sample work).
 */
import { KeelError } from '../../errors.js';

/** Every TypedArray kind `defaultCollate` stacks (Float16Array where the platform has it). */
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
  readonly data: A;
  readonly shape: readonly number[];
  readonly dtype: DType;
}

/**
 * What `defaultCollate` makes of samples of type `S`: numbers become a `Tensor<Float64Array>`,
 * bigints a `Tensor<BigInt64Array>`, a TypedArray (or Tensor) a Tensor of its kind with a
 * leading batch dimension; strings, booleans, null and undefined a list; arrays and plain
 * objects are collated field by field.
 */
export type Collated<S> = S extends number
  ? Tensor<Float64Array>
  : S extends bigint
    ? Tensor<BigInt64Array>
    : S extends Tensor<infer A>
      ? Tensor<A>
      : S extends Buffer
        ? Tensor<Uint8Array>
        : S extends TypedArray
          ? Tensor<S>
          : S extends string | boolean | null | undefined
            ? S[]
            : S extends readonly unknown[]
              ? { -readonly [K in keyof S]: Collated<S[K]> }
              : S extends object
                ? { -readonly [K in keyof S]: Collated<S[K]> }
                : never;

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

/**
 * Merges a list of samples into one batch: equal-shape TypedArrays (and `Tensor`s) are stacked
 * into one `Tensor` with a leading batch dimension, numbers into a `Float64Array` tensor,
 * bigints into a `BigInt64Array` tensor; strings, booleans, null and undefined become a list;
 * arrays and plain objects are collated element by element, key by key. Samples of different
 * structure, shape or element type throw `KeelError` ERR_INVALID_ARGUMENT naming the path.
 *
 * In a `DataLoader` it runs in the workers, one chunk at a time; the caller only joins chunks.
 *
 * @example
 * defaultCollate([{ x: new Float32Array([1, 2]), y: 0 }, { x: new Float32Array([3, 4]), y: 1 }]);
 * // { x: { data: Float32Array [1, 2, 3, 4], shape: [2, 2], dtype: 'float32' },
 * //   y: { data: Float64Array [0, 1], shape: [2], dtype: 'float64' } }
 */
export function defaultCollate<S>(samples: readonly S[]): Collated<S> {
  if (!Array.isArray(samples) || samples.length === 0) {
    throw new KeelError(
      'ERR_INVALID_ARGUMENT',
      'defaultCollate needs a non-empty array of samples',
    );
  }
  return collateAt(samples, 'samples[]') as Collated<S>;
}

function collateAt(samples: readonly unknown[], path: string): unknown {
  const first = samples[0];
  if (typeof first === 'number') return stackNumbers(samples, path, Float64Array, 'number');
  if (typeof first === 'bigint') return stackNumbers(samples, path, BigInt64Array, 'bigint');
  if (isListLeaf(first)) return listOf(samples, path);
  if (ArrayBuffer.isView(first) || isTensor(first)) return stackArrays(samples, path);
  if (Array.isArray(first)) return collateTuples(samples, path, first.length);
  if (isPlainObject(first)) return collateObjects(samples, path, Object.keys(first));
  throw cannotCollate(path, first);
}

function stackNumbers(
  samples: readonly unknown[],
  path: string,
  type: Float64ArrayConstructor | BigInt64ArrayConstructor,
  kind: 'number' | 'bigint',
): Tensor {
  const data = new type(samples.length);
  samples.forEach((sample, index) => {
    if (typeof sample !== kind) throw mismatch(path, index, `a ${kind}`, sample);
    (data as unknown as unknown[])[index] = sample;
  });
  return { data, shape: [samples.length], dtype: kind === 'number' ? 'float64' : 'int64' };
}

function listOf(samples: readonly unknown[], path: string): unknown[] {
  samples.forEach((sample, index) => {
    if (!isListLeaf(sample)) throw mismatch(path, index, 'a string, boolean or null', sample);
  });
  return samples.slice();
}

function stackArrays(samples: readonly unknown[], path: string): Tensor {
  const parts = samples.map((sample, index) => {
    const part = asTensor(sample);
    if (part === undefined) throw mismatch(path, index, 'a TypedArray or tensor', sample);
    return part;
  });
  const head = parts[0]!;
  parts.forEach((part, index) => {
    if (part.type !== head.type)
      throw mismatch(path, index, `a ${head.type.name}`, part.data, part.type.name);
    if (!sameShape(part.shape, head.shape)) {
      throw new KeelError(
        'ERR_INVALID_ARGUMENT',
        `defaultCollate: ${itemPath(path, index)} has shape [${part.shape.join(', ')}], ` +
          `${itemPath(path, 0)} has [${head.shape.join(', ')}]: only equal shapes stack`,
      );
    }
  });
  const data = concatenate(
    head.type,
    parts.map((part) => part.data),
    (type, length) => new type(length),
  );
  return { data, shape: [samples.length, ...head.shape], dtype: dtypeOf(head.type) };
}

function collateTuples(samples: readonly unknown[], path: string, length: number): unknown[] {
  samples.forEach((sample, index) => {
    if (!Array.isArray(sample) || sample.length !== length) {
      throw mismatch(path, index, `an array of ${length} elements`, sample);
    }
  });
  return Array.from({ length }, (_, position) =>
    collateAt(
      samples.map((sample) => (sample as unknown[])[position]),
      `${path}[${position}]`,
    ),
  );
}

function collateObjects(samples: readonly unknown[], path: string, keys: string[]): object {
  const result: Record<string, unknown> = {};
  samples.forEach((sample, index) => {
    if (!isPlainObject(sample) || !sameKeys(Object.keys(sample), keys)) {
      throw mismatch(path, index, `an object with keys ${keys.join(', ')}`, sample);
    }
  });
  for (const key of keys) {
    result[key] = collateAt(
      samples.map((sample) => (sample as Record<string, unknown>)[key]),
      `${path}.${key}`,
    );
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Joining the collated chunks of one batch (the caller's only work per batch).

/**
 * Joins the collated chunks of one batch, in order, into the batch `defaultCollate` would have
 * made of all its samples: tensors (and bare TypedArrays) are concatenated along the batch
 * dimension into arrays made by `allocate`, lists are concatenated, arrays and plain objects are
 * joined element by element. One chunk is returned as is.
 */
export function joinChunks(chunks: readonly unknown[], allocate: AllocateArray): unknown {
  if (chunks.length === 1) return chunks[0];
  return joinAt(chunks, 'batch', allocate);
}

function joinAt(chunks: readonly unknown[], path: string, allocate: AllocateArray): unknown {
  const first = chunks[0];
  if (isTensor(first)) return joinTensors(chunks, path, allocate);
  if (ArrayBuffer.isView(first)) return joinTypedArrays(chunks, path, allocate);
  if (Array.isArray(first)) {
    if (chunks.every((chunk) => Array.isArray(chunk) && chunk.every(isListLeaf))) {
      return (chunks as unknown[][]).flat();
    }
    return joinTuples(chunks, path, first.length, allocate);
  }
  if (isPlainObject(first)) {
    const joined: Record<string, unknown> = {};
    for (const key of Object.keys(first)) {
      joined[key] = joinAt(
        chunks.map((chunk) => fieldOf(chunk, key, path)),
        `${path}.${key}`,
        allocate,
      );
    }
    return joined;
  }
  throw new KeelError(
    'ERR_INVALID_ARGUMENT',
    `cannot join the chunks of a batch at ${path}: a chunk's collate returned ${kindOf(first)}; ` +
      'a collate that runs in the workers must return tensors, TypedArrays, lists of ' +
      'primitives, or arrays and plain objects of these (or use chunkSize >= batchSize)',
  );
}

function joinTensors(chunks: readonly unknown[], path: string, allocate: AllocateArray): Tensor {
  const parts = chunks.map((chunk) => asTensor(chunk));
  const head = parts[0]!;
  const inner = head.shape.slice(1);
  let rows = 0;
  for (const part of parts) {
    if (part === undefined || part.type !== head.type || !sameShape(part.shape.slice(1), inner)) {
      throw new KeelError(
        'ERR_INVALID_ARGUMENT',
        `cannot join the chunks of a batch at ${path}: the chunks' tensors differ in type or shape`,
      );
    }
    rows += part.shape[0] ?? 0;
  }
  const data = concatenate(
    head.type,
    parts.map((part) => part!.data),
    allocate,
  );
  return { data, shape: [rows, ...inner], dtype: dtypeOf(head.type) };
}

function joinTypedArrays(
  chunks: readonly unknown[],
  path: string,
  allocate: AllocateArray,
): TypedArray {
  const type = constructorOf(chunks[0]);
  if (type === undefined || chunks.some((chunk) => constructorOf(chunk) !== type)) {
    throw new KeelError(
      'ERR_INVALID_ARGUMENT',
      `cannot join the chunks of a batch at ${path}: the chunks' arrays differ in type`,
    );
  }
  return concatenate(type, chunks as TypedArray[], allocate);
}

function joinTuples(
  chunks: readonly unknown[],
  path: string,
  length: number,
  allocate: AllocateArray,
): unknown[] {
  if (chunks.some((chunk) => !Array.isArray(chunk) || chunk.length !== length)) {
    throw new KeelError(
      'ERR_INVALID_ARGUMENT',
      `cannot join the chunks of a batch at ${path}: the chunks' arrays differ in length`,
    );
  }
  return Array.from({ length }, (_, position) =>
    joinAt(
      chunks.map((chunk) => (chunk as unknown[])[position]),
      `${path}[${position}]`,
      allocate,
    ),
  );
}

function fieldOf(chunk: unknown, key: string, path: string): unknown {
  if (!isPlainObject(chunk) || !(key in chunk)) {
    throw new KeelError(
      'ERR_INVALID_ARGUMENT',
      `cannot join the chunks of a batch at ${path}: a chunk has no key '${key}'`,
    );
  }
  return chunk[key];
}

// ---------------------------------------------------------------------------------------------
// Shared helpers.

interface TensorParts {
  readonly data: TypedArray;
  readonly type: TypedArrayConstructor;
  readonly shape: readonly number[];
}

/** A TypedArray (shape [length]) or a Tensor, seen the same way; undefined for anything else. */
function asTensor(value: unknown): TensorParts | undefined {
  if (isTensor(value)) {
    const type = constructorOf(value.data);
    return type && { data: value.data, type, shape: value.shape };
  }
  const type = constructorOf(value);
  return type && { data: value as TypedArray, type, shape: [(value as TypedArray).length] };
}

function isTensor(value: unknown): value is Tensor {
  if (!isPlainObject(value)) return false;
  const { data, shape } = value as { data?: unknown; shape?: unknown };
  return (
    constructorOf(data) !== undefined &&
    Array.isArray(shape) &&
    shape.every((size) => Number.isInteger(size) && (size as number) >= 0)
  );
}

/** The TypedArray constructor of a value (a Buffer counts as a Uint8Array). */
function constructorOf(value: unknown): TypedArrayConstructor | undefined {
  if (!ArrayBuffer.isView(value) || value instanceof DataView) return undefined;
  if (value instanceof Uint8Array && !kDTypes.has(value.constructor)) return Uint8Array;
  const type = value.constructor;
  return kDTypes.has(type) ? (type as TypedArrayConstructor) : undefined;
}

function dtypeOf(type: TypedArrayConstructor): DType {
  return kDTypes.get(type)!;
}

function concatenate(
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

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((size, index) => size === b[index]);
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((key) => b.includes(key));
}

function isListLeaf(value: unknown): boolean {
  return (
    value === null || value === undefined || typeof value === 'string' || typeof value === 'boolean'
  );
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
}

function itemPath(path: string, index: number): string {
  return path.replace('samples[]', `samples[${index}]`);
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return `a ${typeof value}`;
  return `an instance of ${(value as { constructor?: { name?: string } }).constructor?.name ?? 'Object'}`;
}

function mismatch(
  path: string,
  index: number,
  expected: string,
  received: unknown,
  receivedName?: string,
): KeelError {
  return new KeelError(
    'ERR_INVALID_ARGUMENT',
    `defaultCollate: ${itemPath(path, index)} must be ${expected} like ${itemPath(path, 0)}, ` +
      `got ${receivedName ? `a ${receivedName}` : kindOf(received)}`,
  );
}

function cannotCollate(path: string, value: unknown): KeelError {
  return new KeelError(
    'ERR_INVALID_ARGUMENT',
    `defaultCollate cannot stack ${itemPath(path, 0)}: it is ${kindOf(value)}; it stacks ` +
      'numbers, bigints, TypedArrays and tensors, lists strings, booleans and null, and recurses ' +
      'into arrays and plain objects (pass a collate function for anything else)',
  );
}
