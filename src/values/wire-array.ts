/**
 * Arrays keel builds for its own wire forms (an arena value's numbers and keys), marked so that
 * the fast lane's codec can skip the checks a user's array needs before its compact encoding:
 * whether it has holes, extra named properties (both survive structured cloning, so they send a
 * user's array to V8's encoding), is a proxy, or appears twice in the message. A marked array is
 * made by keel, filled by `push` and never shown to user code, so none of these can hold; the
 * checks would cost about half of encoding a one-frame message's eight arrays, so marked
 * arrays must stay unreachable to users for the skip to stay sound.
 *
 * The mark is a symbol-keyed property: structured cloning and `Object.keys` ignore it, so a
 * marked array crosses a MessagePort or an IPC channel as a plain array.
 */

const kWireArray = Symbol('keel.wireArray');

type Marked = unknown[] & { [kWireArray]?: true };

/**
 * A new array marked as a wire array: empty, or of `length` (to be filled by index, every
 * index: an array grown by `push` reallocates its storage twice on the way to ~20 entries).
 */
export function wireArray<T>(length = 0): T[] {
  const array: Marked = length === 0 ? [] : new Array<unknown>(length);
  array[kWireArray] = true;
  return array as T[];
}

/** True for an array made by `wireArray()`. */
export function isWireArray(array: readonly unknown[]): boolean {
  return (array as Marked)[kWireArray] === true;
}
