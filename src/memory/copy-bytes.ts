/**
 * Copying bytes between two views of the same length, the fastest way for each case; the one
 * copy the arena and SharedObject make. Portable: Node's `Buffer` is used only when present.
 *
 * V8's `TypedArray#set` is a memmove between plain buffers, but when either side is a
 * SharedArrayBuffer it copies with a relaxed-atomic word loop, slower than a memcpy from a few
 * hundred bytes up (several times slower at 4-16 KiB). Node's `Buffer#fill` with a same-length
 * view as its value is one libc memcpy, after the fixed cost of a native call, which `set`
 * beats below about 1 KiB even over shared memory. `fill` is taken detached from
 * `Buffer.prototype` so that it runs on any Uint8Array: wrapping the target in a Buffer first
 * costs an allocation per copy, which pushed the break-even point up to ~8 KiB.
 */

type Fill = (this: Uint8Array, value: Uint8Array) => Uint8Array;

const bufferFill = (globalThis as { Buffer?: { prototype: { fill: Fill } } }).Buffer?.prototype
  .fill;

/** From this many bytes, a copy that touches shared memory takes the native memcpy. */
const kNativeCopyMinBytes = 1024;

/**
 * Copies `source` into `target`. Same byte length expected; with different lengths it falls
 * back to `target.set(source)`, which throws when `source` does not fit. Allocates nothing.
 */
export function copyBytes(target: Uint8Array, source: Uint8Array): void {
  const byteLength = source.byteLength;
  if (
    bufferFill !== undefined &&
    byteLength >= kNativeCopyMinBytes &&
    byteLength === target.byteLength &&
    (isShared(target.buffer) || isShared(source.buffer))
  ) {
    bufferFill.call(target, source);
  } else {
    target.set(source);
  }
}

function isShared(buffer: ArrayBufferLike): boolean {
  return typeof SharedArrayBuffer === 'function' && buffer instanceof SharedArrayBuffer;
}
