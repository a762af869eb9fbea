/**
 * What `fetchInto` accepts as its target: a caller-owned value of the slot's layout (a
 * TypedArray, or a plain object whose TypedArrays are filled in place) whose arrays neither view
 * the slot's own memory nor share memory with each other, so that the one whole value copied
 * into it lands intact. Pure checks, run before the copy; shared by both sides.
 */
import { KeelError } from '../../errors.js';
import { describeLayout, findMismatch, type LayoutNode } from './value-layouts.js';
import type { TypedArray } from './typed-arrays.js';

interface TargetArray {
  readonly path: string;
  readonly array: TypedArray;
}

/**
 * Throws the KeelError that says why `target` cannot receive a value of `layout`:
 * ERR_TYPE_MISMATCH for a slot kind with nothing to copy into (a scalar, a string, null) or a
 * target of another layout, ERR_INVALID_ARGUMENT for arrays that alias the slot or each other.
 */
export function checkFetchTarget(
  name: string,
  layout: LayoutNode,
  target: unknown,
  slotBuffer: SharedArrayBuffer,
): void {
  if (layout.kind !== 'typed' && layout.kind !== 'object') {
    throw new KeelError(
      'ERR_TYPE_MISMATCH',
      `SharedObject "${name}": fetchInto needs a TypedArray or object slot, this slot holds ${describeLayout(layout)} (use fetch())`,
    );
  }
  const mismatch = findMismatch(layout, target, 'target');
  if (mismatch !== undefined) {
    throw new KeelError('ERR_TYPE_MISMATCH', `SharedObject "${name}": ${mismatch}`);
  }
  const arrays: TargetArray[] = [];
  collectArrays(layout, target, 'target', arrays);
  const aliasing = findAliasing(arrays, slotBuffer);
  if (aliasing !== undefined) {
    throw new KeelError('ERR_INVALID_ARGUMENT', `SharedObject "${name}": ${aliasing}`);
  }
}

/** The TypedArrays of a value that fits `layout`, with their paths, in layout order. */
function collectArrays(
  layout: LayoutNode,
  value: unknown,
  path: string,
  arrays: TargetArray[],
): void {
  if (layout.kind === 'typed') {
    arrays.push({ path, array: value as TypedArray });
    return;
  }
  if (layout.kind !== 'object') return;
  const record = value as Record<string, unknown>;
  for (let i = 0; i < layout.keys.length; i++) {
    const key = layout.keys[i] as string;
    collectArrays(layout.values[i] as LayoutNode, record[key], `${path}.${key}`, arrays);
  }
}

/** Why the arrays cannot all be written at once without losing bytes, if they cannot. */
function findAliasing(
  arrays: readonly TargetArray[],
  slotBuffer: SharedArrayBuffer,
): string | undefined {
  for (let i = 0; i < arrays.length; i++) {
    const { path, array } = arrays[i] as TargetArray;
    if (array.buffer === slotBuffer) {
      return `${path} must be memory the caller owns, got a view of this slot's shared memory`;
    }
    for (let j = 0; j < i; j++) {
      const other = arrays[j] as TargetArray;
      if (overlap(array, other.array)) {
        return `${path} must not share memory with ${other.path}, got overlapping views of one buffer`;
      }
    }
  }
  return undefined;
}

function overlap(a: TypedArray, b: TypedArray): boolean {
  return (
    a.buffer === b.buffer &&
    a.byteLength > 0 &&
    b.byteLength > 0 &&
    a.byteOffset < b.byteOffset + b.byteLength &&
    b.byteOffset < a.byteOffset + a.byteLength
  );
}
