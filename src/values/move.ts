/**
 * `move(value)`: the mark that asks for a value's buffers to be transferred instead of copied
 * when it crosses, and the walk that finds them (the transports' transfer list).
 *
 * The mark lives in a WeakSet of this thread: the sender marks in its own thread, and only the
 * sender reads the mark. A count of marked objects not yet sent keeps the cost at zero for
 * messages that carry nothing marked: no walk while it is zero. A mark that is found leaves
 * the count; one whose object is collected unsent leaves it through a FinalizationRegistry,
 * so a moved value that is never sent does not make every later message walk.
 */

/** Objects marked by `move` and not yet found in a message sent from this thread. */
const marked = new WeakSet<object>();
let marksPending = 0;
const unsentMarks = new FinalizationRegistry<undefined>(() => {
  marksPending--;
});

/**
 * Hands a value's buffers over instead of copying them: returns `value` itself, marked so that
 * every non-shared `ArrayBuffer` under its binary leaves (TypedArrays, DataViews, Buffers,
 * ArrayBuffers, anywhere in arrays, plain objects, Maps and Sets) is transferred when the value
 * crosses to or from a keel worker thread. The receiver gets the same memory; the sender's
 * buffers are detached (`byteLength` 0) once the message is sent. Works for Pool arguments and
 * results, spawned methods' arguments and results, `iterateInWorker` items, pipeline tasks
 * and DataLoader items (a chunk of moved items moves its `defaultCollate` batch too). Moved
 * leaves skip the arena; the other leaves of the same message still go through it.
 *
 * Never fails where a transfer is impossible; the leaf is copied instead: to or from a child
 * process (`kind: 'process'`), a Node `Buffer` on Node's shared pool slab (`Buffer.from('abc')`:
 * transferring would detach unrelated Buffers), a `SharedArrayBuffer` (shared anyway). A buffer
 * reached twice is transferred once. A value with nothing to transfer crosses as if not moved.
 * The mark belongs to the thread that made it and is spent when the value is sent.
 *
 * @example
 * // in a worker: the frame is born here and used once, by the caller
 * export function grab(): Uint8Array {
 *   const frame = decode(bytes);
 *   return move(frame); // no copy: the caller gets this memory
 * }
 * // in the caller: arguments too
 * await pool.run(url, 'encode', [move(pixels)]); // pixels.byteLength === 0 once sent
 */
export function move<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !marked.has(value)) {
    marked.add(value);
    unsentMarks.register(value, undefined, value);
    marksPending++;
  }
  return value;
}

/** True when `value` itself was marked by `move` (and has not been sent since). */
export function isMoved(value: unknown): boolean {
  return marksPending > 0 && typeof value === 'object' && value !== null && marked.has(value);
}

/** What a message moves: its transfer list, and what else it carries that an arena could take. */
export interface MovedParts {
  /** The ArrayBuffers to transfer, each once. */
  readonly buffers: ArrayBuffer[];
  /**
   * The byte length of the largest binary leaf (of plain memory) that is not moved: from an
   * arena's `minBytes` up, the rest of the message still goes through the arena.
   */
  readonly largestUnmovedBytes: number;
}

/**
 * The ArrayBuffers to transfer with `message`: those under every marked object in it, each
 * once, leaving out what cannot be transferred without harm (shared memory, a Node Buffer on
 * the shared pool slab, an empty or detached buffer). Undefined when nothing is to be
 * transferred; costs nothing while nothing marked is waiting to be sent. The marks found are
 * consumed: the value was sent.
 */
export function movedParts(message: unknown): MovedParts | undefined {
  if (marksPending <= 0) return undefined;
  const walk = new MoveWalk();
  walk.visit(message, false);
  if (walk.buffers.size === 0) return undefined;
  const buffers = [...walk.buffers];
  let largestUnmovedBytes = 0;
  for (const leaf of walk.unmovedLeaves) {
    const buffer = ArrayBuffer.isView(leaf) ? leaf.buffer : leaf;
    if (!walk.buffers.has(buffer as ArrayBuffer) && leaf.byteLength > largestUnmovedBytes) {
      largestUnmovedBytes = leaf.byteLength;
    }
  }
  return { buffers, largestUnmovedBytes };
}

class MoveWalk {
  readonly buffers = new Set<ArrayBuffer>();
  /** Leaves of plain memory reached outside every moved value (their buffer may still move). */
  readonly unmovedLeaves: (ArrayBuffer | ArrayBufferView)[] = [];
  readonly #seen = new Set<object>();

  visit(value: unknown, moving: boolean): void {
    if (typeof value !== 'object' || value === null) return;
    let under = moving;
    if (marked.has(value)) {
      marked.delete(value);
      unsentMarks.unregister(value);
      marksPending--;
      under = true;
    }
    if (this.#seen.has(value)) return;
    this.#seen.add(value);
    if (value instanceof ArrayBuffer) {
      if (under) this.#add(value);
      else this.unmovedLeaves.push(value);
    } else if (ArrayBuffer.isView(value)) {
      if (under) this.#addView(value);
      else if (value.buffer instanceof ArrayBuffer) this.unmovedLeaves.push(value);
    } else this.#visitChildren(value, under);
  }

  #visitChildren(value: object, moving: boolean): void {
    if (Array.isArray(value)) {
      for (const item of value) this.visit(item, moving);
    } else if (value instanceof Map) {
      for (const [key, item] of value) {
        this.visit(key, moving);
        this.visit(item, moving);
      }
    } else if (value instanceof Set) {
      for (const item of value) this.visit(item, moving);
    } else {
      for (const key of Object.keys(value)) {
        this.visit((value as Record<string, unknown>)[key], moving);
      }
    }
  }

  #addView(view: ArrayBufferView): void {
    const buffer = view.buffer;
    if (!(buffer instanceof ArrayBuffer)) return; // shared memory: shared anyway
    // A Buffer over a larger ArrayBuffer sits on Node's pool slab (or shares memory with
    // other Buffers): transferring would detach them too. It is copied instead.
    if (Buffer.isBuffer(view) && buffer.byteLength > view.byteLength) return;
    this.#add(buffer);
  }

  #add(buffer: ArrayBuffer): void {
    // A detached buffer cannot be listed (postMessage would throw); an empty one gains nothing.
    if (buffer.byteLength === 0) return;
    this.buffers.add(buffer);
  }
}
