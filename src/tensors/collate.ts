/**
 * `defaultCollate`: samples to one batch. Pure, no I/O: a loader worker runs it on its chunk;
 * the caller then only joins chunks (streams/data-loader/join-chunks.ts). Both sides.
 */
import { KeelError } from '../errors.js';
import {
  asTensor,
  concatenate,
  dtypeOf,
  isListLeaf,
  isPlainObject,
  isTensor,
  kindOf,
  sameKeys,
  sameShape,
  type Tensor,
  type TypedArray,
} from './tensor.js';

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

function itemPath(path: string, index: number): string {
  return path.replace('samples[]', `samples[${index}]`);
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
