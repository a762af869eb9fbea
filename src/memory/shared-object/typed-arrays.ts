/**
 * TypedArray kinds a SharedObject slot can hold, and the two byte-moving primitives its bound
 * layouts use: an allocation without zero-filling and a copy at memcpy speed. Shared by both sides.
 */
import { Buffer } from 'node:buffer';
import { kTypedArrayConstructors, type TypedArray } from '../../values/typed-array.js';
import { copyBytes } from '../copy-bytes.js';

/** The constructors of every TypedArray kind a slot accepts, by name. */
export { kTypedArrayConstructors };

export type TypedArrayName = keyof typeof kTypedArrayConstructors;

/** A TypedArray kind, with Node's `Buffer` told apart from a plain `Uint8Array`. */
export type DTypeName = TypedArrayName | 'Buffer';

/** Any TypedArray a slot can hold (a `Buffer` is a `Uint8Array`), over any kind of buffer. */
export type { TypedArray };

type AnyTypedArrayConstructor = new (
  buffer: ArrayBufferLike,
  byteOffset?: number,
  length?: number,
) => TypedArray;

/** The kind of a TypedArray or Buffer, or undefined for anything else (DataView included). */
export function dtypeOf(value: unknown): DTypeName | undefined {
  if (!ArrayBuffer.isView(value)) return undefined;
  if (Buffer.isBuffer(value)) return 'Buffer';
  // %TypedArray%.prototype[@@toStringTag] names the base kind, also for subclasses and other
  // realms; it is undefined for a DataView.
  const tag = (value as { readonly [Symbol.toStringTag]?: unknown })[Symbol.toStringTag];
  return typeof tag === 'string' && Object.hasOwn(kTypedArrayConstructors, tag)
    ? (tag as TypedArrayName)
    : undefined;
}

/** Bytes per element of a kind. */
export function bytesPerElement(dtype: DTypeName): number {
  return dtype === 'Buffer' ? 1 : kTypedArrayConstructors[dtype].BYTES_PER_ELEMENT;
}

/** Whether a value of kind `given` may be stored in a slot of kind `slot` (Buffer and Uint8Array mix). */
export function dtypesCompatible(slot: DTypeName, given: DTypeName): boolean {
  if (slot === given) return true;
  const bytes = (name: DTypeName) => (name === 'Buffer' ? 'Uint8Array' : name);
  return bytes(slot) === bytes(given);
}

/** A view of `dtype` over `length` elements of `buffer` at `byteOffset` (no copy). */
export function typedView(
  dtype: DTypeName,
  buffer: ArrayBufferLike,
  byteOffset: number,
  length: number,
): TypedArray {
  if (dtype === 'Buffer') return Buffer.from(buffer, byteOffset, length);
  return new (kTypedArrayConstructors[dtype] as AnyTypedArrayConstructor)(
    buffer,
    byteOffset,
    length,
  );
}

// Below this size a zero-filled array is cheaper: V8 keeps small arrays on its heap, and reading
// `.buffer` of one (as the unfilled path must) costs about a microsecond.
const kUninitializedMinBytes = 4096;

/**
 * A fresh, caller-owned array of `dtype` and `length` (offset 0, its own buffer), NOT
 * zero-filled when large: the caller overwrites every byte. Skipping the fill saves a full pass
 * over the memory (a 1.2 MB frame costs as much to zero as to copy).
 */
export function allocateUninitialized(dtype: DTypeName, length: number): TypedArray {
  const byteLength = length * bytesPerElement(dtype);
  if (byteLength < kUninitializedMinBytes) {
    if (dtype === 'Buffer') return Buffer.alloc(length);
    return new (kTypedArrayConstructors[dtype] as new (length: number) => TypedArray)(length);
  }
  const bytes = Buffer.allocUnsafeSlow(byteLength);
  if (dtype === 'Buffer') return bytes;
  // allocUnsafeSlow never pools: the Buffer owns its whole ArrayBuffer, at offset 0.
  return new (kTypedArrayConstructors[dtype] as AnyTypedArrayConstructor)(bytes.buffer, 0, length);
}

/** A caller-owned copy of a TypedArray, Buffer or DataView (same kind and length, offset 0). */
export function copyOf(view: ArrayBufferView): ArrayBufferView {
  const dtype = dtypeOf(view);
  if (dtype === undefined) return new DataView(bytesCopy(view).buffer);
  const result = allocateUninitialized(dtype, (view as TypedArray).length);
  copyElements(result, view as TypedArray);
  return result;
}

function bytesCopy(view: ArrayBufferView): Uint8Array {
  const result = new Uint8Array(view.byteLength);
  copyBytes(result, bytesOf(view));
  return result;
}

/** A byte view over the same memory as `array`. */
export function bytesOf(array: ArrayBufferView): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

// Below this size the call overhead of the native path outweighs the copy itself.
const kNativeCopyMinBytes = 512;

/**
 * Copies a TypedArray into another of the same kind and length: small ones element-wise by V8
 * (no byte views to create), big ones through copyBytes.
 */
export function copyElements(target: TypedArray, source: TypedArray): void {
  if (source.byteLength >= kNativeCopyMinBytes) copyBytes(bytesOf(target), bytesOf(source));
  else (target as Uint8Array).set(source as Uint8Array);
}
