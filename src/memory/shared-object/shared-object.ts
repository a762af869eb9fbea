/**
 * SharedObject: a named latest-value slot in shared memory (the seed's real_robot SharedObject),
 * for every thread of the process. The public class validates and names things; the slot
 * protocol is in slot-engine.ts, the value kinds in value-layouts.ts, the names in
 * name-registry.ts (which a worker reaches through transport/registry-link.ts).
 * docs/shared-object.md has the layout and the consistency argument.
 */
import { KeelError, invalidArgument } from '../../errors.js';
import { findMismatch, layoutBytes, layoutOf, type LayoutNode } from './value-layouts.js';
import { checkFetchTarget } from './fetch-target.js';
import { allocateSlot, isSlotBuffer, kCopyCount, type SlotDescriptor } from './layout.js';
import { lookupSlot, registerSlot, removeSlot } from './name-registry.js';
import {
  checkBoolean,
  checkInteger,
  checkSignal,
  checkTimeoutMs,
  kMaxSharedBytes,
} from '../../options/checks.js';
import { checkOptions, type OptionKeys } from '../../options/known-keys.js';
import { copyOf } from './typed-arrays.js';
import { SlotEngine } from './slot-engine.js';
import type {
  ChangedOptions,
  ClonedSharedObject,
  Shareable,
  SharedObjectOptions,
  SharedValue,
  Widen,
} from './types.js';

let handlesMade = false;

/**
 * True once this thread made a SharedObject handle. Until then no value it sends can hold one,
 * so transports skip the walk that revives cloned handles on the other side.
 */
export function sharedObjectHandlesMade(): boolean {
  return handlesMade;
}

/**
 * A handle on a named slot holding one value of a fixed layout; every thread of the process may
 * open the same slot. Readers never see a torn value; writers are serialised; a writer never
 * waits on a reader for longer than one copy of the value.
 *
 * @example
 * const cam = SharedObject.create('camera', new Uint8Array(480 * 848 * 3), { shape: [480, 848, 3] });
 * cam.assign(frame);                         // same type and length, else ERR_TYPE_MISMATCH
 * const copy = cam.fetch();                  // a consistent copy
 * cam.fetchInto(mine);                       // the same, into an array of the caller's
 * const mean = cam.fetch((v) => sum(v) / v.length); // zero-copy, consistent view
 * if (cam.triggered) { ... }                 // changed since this handle last looked
 * await cam.changed({ timeoutMs: 100 });     // next assign or trigger, no polling
 * cam.close(); SharedObject.unlink('camera');
 */
export class SharedObject<T = SharedValue> {
  /** The slot's name (as given to create). */
  readonly name: string;
  /**
   * The slot's shared memory. Carried when the handle is cloned, so that `SharedObject.from`
   * can revive it on the other side; never read or write it directly.
   */
  readonly buffer: SharedArrayBuffer;
  #engine: SlotEngine | undefined;

  private constructor(name: string, buffer: SharedArrayBuffer, engine?: SlotEngine) {
    this.name = name;
    this.buffer = buffer;
    this.#engine = engine ?? new SlotEngine(name, buffer);
    handlesMade = true;
  }

  /**
   * Creates the slot `name` holding `initial`, whose kind, TypedArray type and length, object keys
   * and string capacity are then fixed. Names are unique per process: ERR_EXISTS when taken,
   * unless `reuse` (then the existing slot must fit `initial`, else ERR_TYPE_MISMATCH, and
   * `initial` is assigned to it). From a worker this asks the main thread (blocks, 5 s limit).
   */
  static create<V>(
    name: string,
    initial: V & Shareable<V>,
    options: SharedObjectOptions = {},
  ): SharedObject<Widen<V>> {
    checkName(name);
    const descriptor = describeInitial(initial, options);
    const reuse = checkBoolean('reuse', options.reuse) ?? false;
    let existing = lookupSlot(name);
    if (existing === undefined) {
      const { buffer } = allocateSlot(descriptor);
      const engine = new SlotEngine(name, buffer);
      engine.initialize(initial);
      existing = registerSlot(name, buffer);
      if (existing === undefined) return new SharedObject(name, buffer, engine);
    }
    if (!reuse) {
      throw new KeelError(
        'ERR_EXISTS',
        `SharedObject "${name}" already exists (pass { reuse: true } to attach to it)`,
      );
    }
    const handle = new SharedObject<Widen<V>>(name, existing);
    handle.#checkReusable(initial, options);
    return handle.assign(initial as unknown as Widen<V>);
  }

  /**
   * Opens the slot `name` created by any thread of this process. `T` is the caller's claim of
   * the slot's type (not checked). ERR_NOT_FOUND when there is no such slot. From a worker this
   * asks the main thread once per name, then uses a cache.
   */
  static open<T = SharedValue>(name: string): SharedObject<T> {
    checkName(name);
    const buffer = lookupSlot(name);
    if (buffer === undefined)
      throw new KeelError('ERR_NOT_FOUND', `SharedObject "${name}" does not exist`);
    return new SharedObject<T>(name, buffer);
  }

  /**
   * Removes the name: later `open` fails with ERR_NOT_FOUND and `create` makes a new slot.
   * Existing handles keep working on the old slot, whose memory is freed once they are all gone.
   * ERR_NOT_FOUND when there is no such name.
   */
  static unlink(name: string): void {
    checkName(name);
    if (removeSlot(name) === undefined)
      throw new KeelError('ERR_NOT_FOUND', `SharedObject "${name}" does not exist`);
  }

  /**
   * A new handle on the slot of a cloned handle (what postMessage or a worker call delivers:
   * `{ name, buffer }`), or of another handle. Needs no registry.
   */
  static from<T = SharedValue>(handle: ClonedSharedObject | SharedObject<T>): SharedObject<T> {
    if (!SharedObject.isClone(handle)) {
      throw invalidArgument(
        'handle',
        'a SharedObject or a clone of one ({ name, buffer })',
        handle,
      );
    }
    return new SharedObject<T>(handle.name, handle.buffer);
  }

  /** Whether `value` is a handle or the structured clone of one. */
  static isClone(value: unknown): value is ClonedSharedObject {
    const candidate = value as Partial<ClonedSharedObject> | null;
    return (
      typeof candidate === 'object' &&
      candidate !== null &&
      typeof candidate.name === 'string' &&
      isSlotBuffer(candidate.buffer)
    );
  }

  /** The dimensions of a TypedArray slot (`[length]` unless given at create); undefined for other kinds. */
  get shape(): readonly number[] | undefined {
    return this.#live().geometry.descriptor.shape ?? undefined;
  }

  /** Whether close() was called on this handle. */
  get closed(): boolean {
    return this.#engine === undefined;
  }

  /** True when the slot was assigned or triggered since this handle last read it; does not mark it read. */
  get modified(): boolean {
    return this.#live().modified();
  }

  /** Like `modified`, and marks the change seen: true once per change (a trigger is seen by its own handle too). */
  get triggered(): boolean {
    return this.#live().consumeChange();
  }

  /** Nanoseconds of the last assign or trigger, on the clock of `process.hrtime.bigint()` (monotonic, shared by all threads). */
  get mtime(): bigint {
    return this.#live().mtime();
  }

  /**
   * Replaces the value. Same kind, TypedArray type and length, object keys, and a string within
   * capacity, else ERR_TYPE_MISMATCH (nothing written). May block briefly behind another writer.
   * This handle does not see its own assign as `modified`.
   */
  assign(value: T): this {
    const engine = this.#live();
    const problem = findMismatch(engine.geometry.descriptor.layout, value, 'value');
    if (problem !== undefined) {
      throw new KeelError('ERR_TYPE_MISMATCH', `SharedObject "${this.name}": ${problem}`);
    }
    engine.write(value);
    return this;
  }

  /** Moves `mtime` and the change counter without data: every handle, this one included, sees it once as `triggered`. */
  trigger(): this {
    this.#live().trigger();
    return this;
  }

  /**
   * `fetch()`: a caller-owned copy of the latest value, never torn; same kinds as assigned.
   * `fetch(fn)`: `fn(view)` on a zero-copy, consistent view (TypedArrays over the shared
   * memory), and returns fn's result. `fn` must be synchronous and must not write to or keep the
   * view; a returned view of the slot is copied. If a writer overwrote the view while `fn` ran
   * (possible only when readers hold every spare copy for longer than a copy takes), `fn` runs
   * again on a private copy. Either way marks the value read (see `modified`).
   */
  fetch(): T;
  fetch<R>(fn: (view: T) => R): R;
  fetch<R>(fn?: (view: T) => R): T | R {
    const engine = this.#live();
    if (fn === undefined) return engine.read() as T;
    if (typeof fn !== 'function') throw invalidArgument('fn', 'a function', fn);
    const result = engine.visit((view) => fn(view as T));
    return this.#detach(result);
  }

  /**
   * Copies the latest value into `target`, which the caller owns, and returns `target`: a
   * `fetch()` that allocates nothing (one memcpy for a TypedArray slot). For a TypedArray slot,
   * `target` is a TypedArray of the same type and length (a Buffer and a Uint8Array stand for
   * each other, as in assign). For an object slot, a plain object of the slot's layout (a
   * `fetch()` result is one), filled in place: its TypedArrays are copied into, nested objects
   * filled, other fields replaced. Never torn, never blocks; marks the value read. A slot of
   * another kind (a scalar, a string, null) has nothing to copy into: ERR_TYPE_MISMATCH, as for a
   * target of another layout. ERR_INVALID_ARGUMENT when a target array views the slot's memory or
   * shares memory with another array of the target. On any error nothing was copied, except that
   * a setter of an object target that throws leaves the fields before it written.
   *
   * @example
   * const frame = new Uint8Array(480 * 848 * 3);        // once
   * if (cam.modified) detect(cam.fetchInto(frame));    // each tick: no allocation
   */
  fetchInto<U extends T>(target: U): U {
    const engine = this.#live();
    checkFetchTarget(this.name, engine.geometry.descriptor.layout, target, this.buffer);
    engine.readInto(target as object);
    return target;
  }

  /**
   * Resolves on the next assign or trigger (by any handle) after the call, with
   * Atomics.waitAsync (no polling). Rejects with the signal's reason on abort, ERR_TIMEOUT after
   * `timeoutMs`, ERR_CLOSED on close(). Does not mark anything read.
   */
  changed(options: ChangedOptions = {}): Promise<void> {
    try {
      return this.#live().waitForChange(checkChangedOptions(options));
    } catch (error) {
      // ERR_CLOSED from #live(), or a bad option: async APIs reject rather than throw.
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- always a KeelError
      return Promise.reject(error);
    }
  }

  /** Closes this handle (idempotent); later use throws ERR_CLOSED. The slot and other handles live on. */
  close(): void {
    const engine = this.#engine;
    if (engine === undefined) return;
    this.#engine = undefined;
    engine.close(this.#closedError());
  }

  /** The same as `close()`: `using cam = SharedObject.open('camera')` closes at scope end. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** A short description for console.log / util.inspect (the buffer is not dumped). */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    if (this.#engine === undefined) return `SharedObject "${this.name}" (closed)`;
    const { layout, shape } = this.#engine.geometry.descriptor;
    const kind =
      layout.kind === 'typed' ? `${layout.dtype}[${(shape ?? []).join('x')}]` : layout.kind;
    return `SharedObject "${this.name}" <${kind}>`;
  }

  #live(): SlotEngine {
    if (this.#engine === undefined) throw this.#closedError();
    return this.#engine;
  }

  #closedError(): KeelError {
    return new KeelError('ERR_CLOSED', `SharedObject "${this.name}": this handle is closed`);
  }

  /** A result of fetch(fn) must not alias the slot: views of it are copied (shallowly in containers). */
  #detach<R>(result: R): R {
    if (ArrayBuffer.isView(result))
      return (result.buffer === this.buffer ? copyOf(result) : result) as R;
    if (typeof result !== 'object' || result === null) return result;
    const container = result as unknown as Record<string, unknown>;
    for (const key of Object.keys(container)) {
      const value = container[key];
      if (ArrayBuffer.isView(value) && value.buffer === this.buffer) container[key] = copyOf(value);
    }
    return result;
  }

  #checkReusable(initial: unknown, options: SharedObjectOptions): void {
    const existing = this.#live().geometry.descriptor;
    const problem =
      findMismatch(existing.layout, initial, 'initial') ?? optionMismatch(existing, options);
    if (problem !== undefined) {
      throw new KeelError(
        'ERR_TYPE_MISMATCH',
        `SharedObject "${this.name}" exists with another layout: ${problem}`,
      );
    }
  }
}

/** Why explicit `shape` / `capacity` options disagree with an existing slot, if they do. */
function optionMismatch(
  existing: SlotDescriptor,
  options: SharedObjectOptions,
): string | undefined {
  const { shape, capacity } = options;
  if (shape !== undefined && !sameNumbers(shape, existing.shape)) {
    return `shape must be [${(existing.shape ?? []).join(', ')}], got [${shape.join(', ')}]`;
  }
  const layout = existing.layout;
  if (capacity !== undefined && layout.kind === 'string' && layout.capacityBytes !== capacity) {
    return `capacity must be ${layout.capacityBytes}, got ${capacity}`;
  }
  return undefined;
}

function sameNumbers(a: readonly number[], b: readonly number[] | null): boolean {
  return b !== null && a.length === b.length && a.every((n, i) => n === b[i]);
}

function checkName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length === 0)
    throw invalidArgument('name', 'a non-empty string', name);
}

const kCreateKeys: OptionKeys<SharedObjectOptions> = { shape: true, capacity: true, reuse: true };
const kChangedKeys: OptionKeys<ChangedOptions> = { signal: true, timeoutMs: true };

/** The descriptor of a new slot for `initial`, with the options validated against it. */
function describeInitial(initial: unknown, options: SharedObjectOptions): SlotDescriptor {
  checkOptions<SharedObjectOptions>('options', options, kCreateKeys);
  const { shape, capacity } = options;
  if (capacity !== undefined) {
    if (typeof initial !== 'string')
      throw invalidArgument('capacity', 'absent for a value that is not a string', capacity);
    // Three copies of the capacity are allocated: refuse what the machine cannot hold.
    checkInteger('capacity', capacity, 0, Math.floor(kMaxSharedBytes / kCopyCount));
  }
  const layout = layoutOf(initial, 'initial', capacity);
  const problem = findMismatch(layout, initial, 'initial');
  if (problem !== undefined) {
    // An initial string longer than an explicit capacity is the capacity's fault.
    throw new KeelError(
      'ERR_INVALID_ARGUMENT',
      capacity === undefined
        ? problem
        : `capacity must be at least the initial string's UTF-8 length (${Buffer.byteLength(initial as string)} bytes), got ${capacity}`,
    );
  }
  if (shape !== undefined && layout.kind !== 'typed') {
    throw invalidArgument('shape', 'absent for a value that is not a TypedArray', shape);
  }
  const valueBytes = layoutBytes(layout);
  if (valueBytes * kCopyCount > kMaxSharedBytes) {
    throw invalidArgument(
      'initial',
      `a value whose three copies fit in this machine's memory (${kMaxSharedBytes} bytes)`,
      `${valueBytes} bytes`,
    );
  }
  const defaultShape = layout.kind === 'typed' ? [layout.length] : null;
  const checkedShape =
    shape === undefined || layout.kind !== 'typed' ? defaultShape : checkShape(shape, layout);
  return { layout, shape: checkedShape, valueBytes };
}

/** Validates `changed()`'s options; the wait itself is ChangeWaiters'. */
function checkChangedOptions(options: ChangedOptions): ChangedOptions {
  checkOptions<ChangedOptions>('options', options, kChangedKeys);
  checkSignal('signal', options.signal);
  checkTimeoutMs('timeoutMs', options.timeoutMs);
  return options;
}

function checkShape(shape: unknown, layout: Extract<LayoutNode, { kind: 'typed' }>): number[] {
  const valid =
    Array.isArray(shape) &&
    shape.every((n) => Number.isSafeInteger(n) && (n as number) >= 0) &&
    shape.reduce((product: number, n: number) => product * n, 1) === layout.length;
  if (!valid)
    throw invalidArgument('shape', `an array of integers whose product is ${layout.length}`, shape);
  return [...(shape as number[])];
}
