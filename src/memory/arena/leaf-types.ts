/**
 * Binary leaves: recognising them, naming their type, rebuilding a view of the same type.
 * Portable: Node's `Buffer` and `Float16Array` are used only when the platform has them.
 */
import { copyBytes } from '../copy-bytes.js';

/** The type of a binary leaf (its code in an envelope is its index in kLeafTypes). */
export type LeafType =
  | 'Int8Array'
  | 'Uint8Array'
  | 'Uint8ClampedArray'
  | 'Int16Array'
  | 'Uint16Array'
  | 'Int32Array'
  | 'Uint32Array'
  | 'Float16Array'
  | 'Float32Array'
  | 'Float64Array'
  | 'BigInt64Array'
  | 'BigUint64Array'
  | 'DataView'
  | 'Buffer'
  | 'ArrayBuffer';

type ViewConstructor = new (
  buffer: ArrayBufferLike,
  byteOffset: number,
  length: number,
) => ArrayBufferView;

interface NodeBufferStatic {
  from(buffer: ArrayBufferLike, byteOffset: number, length: number): Uint8Array;
  prototype: object;
}

/** Node's Buffer when present (absent in a portable runtime). */
export const NodeBuffer = (globalThis as { Buffer?: NodeBufferStatic }).Buffer;

const kViewTypes: readonly LeafType[] = [
  'Int8Array',
  'Uint8Array',
  'Uint8ClampedArray',
  'Int16Array',
  'Uint16Array',
  'Int32Array',
  'Uint32Array',
  'Float16Array',
  'Float32Array',
  'Float64Array',
  'BigInt64Array',
  'BigUint64Array',
  'DataView',
];

/** Every leaf type, in a fixed order (an envelope's type codes are indexes into it). */
export const kLeafTypes: readonly LeafType[] = [...kViewTypes, 'Buffer', 'ArrayBuffer'];

const kConstructors = new Map<LeafType, ViewConstructor>();
const kTypeByPrototype = new Map<object, LeafType>();
for (const type of kViewTypes) {
  const constructor = (globalThis as Record<string, unknown>)[type] as ViewConstructor | undefined;
  if (typeof constructor !== 'function') continue;
  kConstructors.set(type, constructor);
  kTypeByPrototype.set(constructor.prototype as object, type);
}
if (NodeBuffer) kTypeByPrototype.set(NodeBuffer.prototype, 'Buffer');

/**
 * The leaf type of a view: the nearest known prototype, so that a subclass of Float32Array
 * crosses as a Float32Array (as structured cloning does).
 */
export function viewTypeOf(view: ArrayBufferView): LeafType {
  let prototype = Object.getPrototypeOf(view) as object | null;
  while (prototype !== null) {
    const type = kTypeByPrototype.get(prototype);
    if (type !== undefined) return type;
    prototype = Object.getPrototypeOf(prototype) as object | null;
  }
  return 'Uint8Array';
}

/** The leaf type whose instances have exactly this prototype (a constructor's `prototype`). */
export function leafTypeOfPrototype(prototype: object): LeafType | undefined {
  return kTypeByPrototype.get(prototype);
}

/** Bytes per element of a view type (1 for DataView, Buffer, ArrayBuffer). */
export function bytesPerElement(type: LeafType): number {
  const constructor = kConstructors.get(type) as { BYTES_PER_ELEMENT?: number } | undefined;
  return constructor?.BYTES_PER_ELEMENT ?? 1;
}

/** Bytes per element of each leaf type, by its envelope code (its index in kLeafTypes). */
export const kLeafElementBytes: readonly number[] = kLeafTypes.map(bytesPerElement);

/** The length to rebuild a view with: elements for typed arrays, bytes otherwise. */
export function viewLength(view: ArrayBufferView): number {
  return (view as { length?: number }).length ?? view.byteLength;
}

/** A view of `type` over `buffer`; for a SharedArrayBuffer it aliases the shared memory. */
export function makeView(
  type: LeafType,
  buffer: ArrayBufferLike,
  byteOffset: number,
  length: number,
): ArrayBufferView {
  if (type === 'Buffer') {
    if (NodeBuffer) return NodeBuffer.from(buffer, byteOffset, length);
    return new Uint8Array(buffer, byteOffset, length);
  }
  const constructor = kConstructors.get(type);
  if (constructor === undefined) throw new TypeError(`unknown binary leaf type ${type}`);
  return new constructor(buffer, byteOffset, length);
}

/** An owned copy of a view (an ArrayBuffer of its own), of the same type and contents. */
export function copyView(view: ArrayBufferView): ArrayBufferView {
  const type = viewTypeOf(view);
  const bytes = new Uint8Array(view.byteLength);
  copyBytes(bytes, new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
  return makeView(type, bytes.buffer, 0, viewLength(view));
}

export function isArrayBuffer(value: object): value is ArrayBuffer {
  return value instanceof ArrayBuffer;
}

export function isSharedArrayBuffer(value: object): value is SharedArrayBuffer {
  return typeof SharedArrayBuffer === 'function' && value instanceof SharedArrayBuffer;
}
