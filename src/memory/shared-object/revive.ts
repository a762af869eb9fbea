/**
 * Reviving handles that crossed a thread boundary. A SharedObject structured-clones to the plain
 * object `{ name, buffer }` (its own enumerable properties; the SharedArrayBuffer is shared, not
 * copied). keel's call servers run `reviveSharedObjects` on received arguments, so a worker
 * function gets a working handle. Shared by both sides.
 */
import { SharedObject } from './shared-object.js';

const kMaxDepth = 32;

/**
 * Replaces, inside `value` (arrays, plain objects, Maps and Sets, in place), every structured
 * clone of a SharedObject with a live handle on the same slot; returns `value`, or the handle
 * when `value` itself is a clone. Cycles are safe; binary leaves are skipped cheaply; depth is
 * limited to 32 levels.
 *
 * @example
 * parentPort.on('message', (message) => { const { camera } = reviveSharedObjects(message); camera.fetch(); });
 */
export function reviveSharedObjects<V>(value: V): V {
  return revive(value, new Set(), 0) as V;
}

function revive(value: unknown, seen: Set<object>, depth: number): unknown {
  if (typeof value !== 'object' || value === null || value instanceof SharedObject) return value;
  if (
    ArrayBuffer.isView(value) ||
    value instanceof ArrayBuffer ||
    value instanceof SharedArrayBuffer
  )
    return value;
  if (SharedObject.isClone(value)) return SharedObject.from(value);
  if (depth >= kMaxDepth || seen.has(value)) return value;
  seen.add(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = revive(value[i], seen, depth + 1);
  } else if (value instanceof Map) {
    for (const [key, entry] of value) value.set(key, revive(entry, seen, depth + 1));
  } else if (value instanceof Set) {
    reviveSet(value, seen, depth);
  } else if (
    Object.getPrototypeOf(value) === Object.prototype ||
    Object.getPrototypeOf(value) === null
  ) {
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) record[key] = revive(record[key], seen, depth + 1);
  }
  return value;
}

function reviveSet(set: Set<unknown>, seen: Set<object>, depth: number): void {
  for (const entry of [...set]) {
    const revived = revive(entry, seen, depth + 1);
    if (revived !== entry) {
      set.delete(entry);
      set.add(revived);
    }
  }
}
