/**
 * `joinChunks`: the collated chunks of one batch to that batch, on the caller's thread (one
 * copy per binary leaf, nothing per sample). Pure, no I/O.
 */
import { KeelError } from '../../errors.js';
import {
  asTensor,
  concatenate,
  constructorOf,
  dtypeOf,
  isListLeaf,
  isPlainObject,
  isTensor,
  kindOf,
  sameShape,
  type AllocateArray,
  type Tensor,
  type TypedArray,
} from '../../tensors/tensor.js';

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
