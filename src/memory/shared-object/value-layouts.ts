/**
 * The value kinds of a SharedObject slot, as data: a `LayoutNode` tree inferred once from the
 * initial value, its size in bytes, and the pure check that a later value still fits it.
 * Reading and writing shared memory is in bound-layouts.ts. Shared by both sides.
 */
import { Buffer } from 'node:buffer';
import { describeValue, invalidArgument } from '../../errors.js';
import { bytesPerElement, dtypeOf, dtypesCompatible, type DTypeName } from './typed-arrays.js';

/** The fixed layout of a slot's value. Plain JSON: it is stored in the slot's descriptor. */
export type LayoutNode =
  | { readonly kind: 'null' }
  | { readonly kind: 'boolean' }
  | { readonly kind: 'number' }
  | { readonly kind: 'bigint' }
  | { readonly kind: 'string'; readonly capacityBytes: number }
  | { readonly kind: 'typed'; readonly dtype: DTypeName; readonly length: number }
  | {
      readonly kind: 'object';
      readonly keys: readonly string[];
      readonly values: readonly LayoutNode[];
    };

/** Every field starts on an 8-byte boundary, so Float64Array / BigInt64Array views fit. */
export const kFieldAlignBytes = 8;
/** A string field: u32 byte length, then the UTF-8 bytes. */
export const kStringHeaderBytes = 4;
const kMinStringCapacityBytes = 64;
const kMaxDepth = 64;

const kExpectedKinds =
  'null, a boolean, a number, a bigint, a string, a TypedArray or Buffer, or a plain object of these';

function alignUp(bytes: number): number {
  return Math.ceil(bytes / kFieldAlignBytes) * kFieldAlignBytes;
}

/** Bytes one value of `layout` occupies in a copy (fields aligned to 8). */
export function layoutBytes(layout: LayoutNode): number {
  switch (layout.kind) {
    case 'null':
      return 0;
    case 'boolean':
    case 'number':
    case 'bigint':
      return kFieldAlignBytes;
    case 'string':
      return alignUp(kStringHeaderBytes + layout.capacityBytes);
    case 'typed':
      return alignUp(layout.length * bytesPerElement(layout.dtype));
    case 'object':
      return layout.values.reduce((sum, child) => sum + layoutBytes(child), 0);
  }
}

/** The default byte capacity of a string slot: the larger of twice its UTF-8 length and 64. */
export function defaultStringCapacity(value: string): number {
  return Math.max(2 * Buffer.byteLength(value, 'utf8'), kMinStringCapacityBytes);
}

/** Whether `value` is a plain object (created by a literal, JSON, cloning, or Object.create(null)). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** True for a bigint that fits in a signed 64-bit integer. */
function isInt64(value: bigint): boolean {
  return BigInt.asIntN(64, value) === value;
}

/**
 * Infers the layout of a new slot from its initial value. `capacityBytes` applies to a top-level
 * string only. Throws ERR_INVALID_ARGUMENT naming the path of an unsupported leaf.
 */
export function layoutOf(
  value: unknown,
  path: string,
  capacityBytes?: number,
  depth = 0,
): LayoutNode {
  if (value === null) return { kind: 'null' };
  switch (typeof value) {
    case 'boolean':
      return { kind: 'boolean' };
    case 'number':
      return { kind: 'number' };
    case 'bigint':
      if (!isInt64(value)) throw invalidArgument(path, 'a bigint in the int64 range', value);
      return { kind: 'bigint' };
    case 'string':
      return { kind: 'string', capacityBytes: capacityBytes ?? defaultStringCapacity(value) };
  }
  const dtype = dtypeOf(value);
  if (dtype !== undefined)
    return { kind: 'typed', dtype, length: (value as ArrayLike<unknown>).length };
  if (isPlainObject(value) && depth < kMaxDepth) {
    const keys = Object.keys(value);
    const values = keys.map((key) => layoutOf(value[key], `${path}.${key}`, undefined, depth + 1));
    return { kind: 'object', keys, values };
  }
  const expected = depth >= kMaxDepth ? `nested at most ${kMaxDepth} levels deep` : kExpectedKinds;
  throw invalidArgument(path, expected, value);
}

/** What a value of `layout` must be, for error messages. */
export function describeLayout(layout: LayoutNode): string {
  switch (layout.kind) {
    case 'null':
      return 'null';
    case 'boolean':
      return 'a boolean';
    case 'number':
      return 'a number';
    case 'bigint':
      return 'a bigint in the int64 range';
    case 'string':
      return `a string of at most ${layout.capacityBytes} UTF-8 bytes`;
    case 'typed':
      return `a ${layout.dtype} of ${layout.length} elements`;
    case 'object':
      return `a plain object with the keys [${layout.keys.join(', ')}]`;
  }
}

/** A short description of a value that did not fit, for error messages. */
export function describeReceived(value: unknown): string {
  const dtype = dtypeOf(value);
  if (dtype !== undefined) return `a ${dtype} of ${(value as ArrayLike<unknown>).length} elements`;
  if (typeof value === 'string')
    return `a string of ${Buffer.byteLength(value, 'utf8')} UTF-8 bytes`;
  if (isPlainObject(value))
    return `a plain object with the keys [${Object.keys(value).join(', ')}]`;
  return describeValue(value);
}

/**
 * Why `value` does not fit `layout`, as "<path> must be <expected>, got <received>", or
 * undefined when it fits. Pure; runs before the writer takes the slot lock.
 */
export function findMismatch(layout: LayoutNode, value: unknown, path: string): string | undefined {
  if (fits(layout, value)) {
    return layout.kind === 'object'
      ? findObjectMismatch(layout, value as Record<string, unknown>, path)
      : undefined;
  }
  return `${path} must be ${describeLayout(layout)}, got ${describeReceived(value)}`;
}

function fits(layout: LayoutNode, value: unknown): boolean {
  switch (layout.kind) {
    case 'null':
      return value === null;
    case 'boolean':
      return typeof value === 'boolean';
    case 'number':
      return typeof value === 'number';
    case 'bigint':
      return typeof value === 'bigint' && isInt64(value);
    case 'string':
      return typeof value === 'string' && fitsString(value, layout.capacityBytes);
    case 'typed':
      return fitsTyped(layout.dtype, layout.length, value);
    case 'object':
      return isPlainObject(value) && sameKeys(layout.keys, value);
  }
}

function fitsString(value: string, capacityBytes: number): boolean {
  // A UTF-8 byte is at least one UTF-16 unit and at most three per unit: skip the count when
  // the answer is certain either way.
  if (value.length * 3 <= capacityBytes) return true;
  if (value.length > capacityBytes) return false;
  return Buffer.byteLength(value, 'utf8') <= capacityBytes;
}

function fitsTyped(dtype: DTypeName, length: number, value: unknown): boolean {
  const given = dtypeOf(value);
  return (
    given !== undefined &&
    dtypesCompatible(dtype, given) &&
    (value as ArrayLike<unknown>).length === length
  );
}

function sameKeys(keys: readonly string[], value: Record<string, unknown>): boolean {
  let count = 0;
  for (const key in value) {
    if (Object.hasOwn(value, key)) count++;
  }
  return count === keys.length && keys.every((key) => Object.hasOwn(value, key));
}

function findObjectMismatch(
  layout: Extract<LayoutNode, { kind: 'object' }>,
  value: Record<string, unknown>,
  path: string,
): string | undefined {
  for (let i = 0; i < layout.keys.length; i++) {
    const key = layout.keys[i] as string;
    const problem = findMismatch(layout.values[i] as LayoutNode, value[key], `${path}.${key}`);
    if (problem !== undefined) return problem;
  }
  return undefined;
}
