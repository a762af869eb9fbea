/**
 * SharedObject: a named latest-value slot in shared memory (the seed's real_robot SharedObject),
 * for every thread of the process. The public class validates and names things; the slot
 * protocol is in slot-engine.ts, the value kinds in value-layouts.ts, the names in
 * name-registry.ts (which a worker reaches through transport/registry-link.ts).
 * docs/shared-object.md has the layout and the consistency argument.
 */
import { KeelError, invalidArgument } from '../../errors.js';
import { findMismatch } from './value-layouts.js';
import { checkFetchTarget } from './fetch-target.js';
import { allocateSlot, isSlotBuffer, kLockRobustMutex, planSlot, slotLockKind } from './layout.js';
import { listSlots, lookupSlot, registerSlot, removeSlot } from './name-registry.js';
import { checkBoolean } from '../../options/checks.js';
import {
  checkChangedOptions,
  checkMachineName,
  checkName,
  checkScopeOptions,
  describeInitial,
  isMachineName,
  optionMismatch,
} from './create-options.js';
import {
  createMachineSegment,
  listMachineSegments,
  openMachineSegment,
  slotInfo,
  unlinkMachineSegment,
} from './machine-segments.js';
import { copyOf } from './typed-arrays.js';
import { SlotEngine } from './slot-engine.js';
import type {
  ChangedOptions,
  ClonedSharedObject,
  Shareable,
  SharedObjectInfo,
  SharedObjectOptions,
  SharedObjectScope,
  SharedValue,
  Widen,
} from './types.js';

// A machine-scope create with reuse retries this often when the name it found vanishes at once.
const kReuseAttempts = 3;

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
   * and string capacity are then fixed. Names are unique per scope: ERR_EXISTS when taken,
   * unless `reuse` (then the existing slot must fit `initial`, else ERR_TYPE_MISMATCH, and
   * `initial` is assigned to it). From a worker a process-scope create asks the main thread
   * (blocks, 5 s limit). `scope: 'machine'` puts the slot in the shared-memory segment
   * `/keel.<name>` that every process of this user may open (mode 0o600 unless `mode`); it needs
   * keel's native layer (ERR_UNSUPPORTED without), a name of at most 200 UTF-8 bytes without '/'
   * (ERR_INVALID_ARGUMENT), and room in /dev/shm (ERR_NO_SPACE).
   *
   * @example
   * const cam = SharedObject.create('camera', new Uint8Array(480 * 848 * 3), { scope: 'machine' });
   */
  static create<V>(
    name: string,
    initial: V & Shareable<V>,
    options: SharedObjectOptions = {},
  ): SharedObject<Widen<V>> {
    checkName(name);
    const descriptor = describeInitial(initial, options);
    const reuse = checkBoolean('reuse', options.reuse) ?? false;
    const { scope, mode } = checkScopeOptions(options);
    if (scope === 'machine') {
      checkMachineName(name);
      return SharedObject.#createOnMachine(name, initial, options, { descriptor, reuse, mode });
    }
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
    return SharedObject.#reuse<V>(name, existing, initial, options);
  }

  static #createOnMachine<V>(
    name: string,
    initial: V & Shareable<V>,
    options: SharedObjectOptions,
    checked: { descriptor: ReturnType<typeof describeInitial>; reuse: boolean; mode: number },
  ): SharedObject<Widen<V>> {
    const plan = planSlot(checked.descriptor);
    for (let attempt = 1; ; attempt++) {
      const made: { engine?: SlotEngine } = {};
      const buffer = createMachineSegment(name, plan, checked.mode, (memory, geometry) => {
        made.engine = new SlotEngine(name, memory, geometry);
        made.engine.initialize(initial);
      });
      if (buffer !== undefined) return new SharedObject(name, buffer, made.engine);
      if (!checked.reuse) {
        throw new KeelError(
          'ERR_EXISTS',
          `SharedObject "${name}" already exists on this machine (pass { reuse: true } to attach ` +
            `to it, or remove it with SharedObject.unlink('${name}'))`,
        );
      }
      const existing = openMachineSegment(name);
      // Unlinked between our create and our open: create again (bounded).
      if (existing !== undefined || attempt >= kReuseAttempts) {
        if (existing === undefined)
          throw new KeelError('ERR_NOT_FOUND', `SharedObject "${name}" does not exist`);
        return SharedObject.#reuse<V>(name, existing, initial, options);
      }
    }
  }

  /** A handle on an existing slot that must fit `initial`, which is then assigned. */
  static #reuse<V>(
    name: string,
    buffer: SharedArrayBuffer,
    initial: V & Shareable<V>,
    options: SharedObjectOptions,
  ): SharedObject<Widen<V>> {
    const handle = new SharedObject<Widen<V>>(name, buffer);
    handle.#checkReusable(initial, options);
    return handle.assign(initial as unknown as Widen<V>);
  }

  /**
   * Opens the slot `name`: a process-scope slot created by any thread of this process, else a
   * machine-scope slot created by any process of this user. `T` is the caller's claim of the
   * slot's type (not checked). ERR_NOT_FOUND when there is no such slot; ERR_PERMISSION when
   * the machine-scope slot belongs to another user. From a worker the process-scope lookup asks
   * the main thread once per name, then uses a cache.
   */
  static open<T = SharedValue>(name: string): SharedObject<T> {
    checkName(name);
    const { buffer, registryError } = lookupProcessSlot(name);
    const found = buffer ?? (isMachineName(name) ? openMachineSegment(name) : undefined);
    if (found !== undefined) return new SharedObject<T>(name, found);
    throw registryError ?? new KeelError('ERR_NOT_FOUND', `SharedObject "${name}" does not exist`);
  }

  /**
   * Removes the name: later `open` fails with ERR_NOT_FOUND and `create` makes a new slot.
   * Existing handles (in any process) keep working on the old slot, whose memory is freed once
   * they are all gone. A process-scope name is looked for first, then a machine-scope one.
   * ERR_NOT_FOUND when there is no such name; ERR_PERMISSION for another user's segment.
   */
  static unlink(name: string): void {
    checkName(name);
    if (lookupProcessSlot(name).buffer !== undefined && removeSlot(name) !== undefined) return;
    if (isMachineName(name) && unlinkMachineSegment(name)) return;
    throw new KeelError('ERR_NOT_FOUND', `SharedObject "${name}" does not exist`);
  }

  /**
   * The slots this thread can name: process-scope ones (from the main thread; a worker sees
   * only machine-scope ones), then the machine-scope slots of this user, by name. A segment of
   * another user, or one that is not a complete keel slot, is skipped.
   *
   * @example
   * for (const { name, kind, bytes } of SharedObject.list()) console.log(name, kind, bytes);
   */
  static list(): SharedObjectInfo[] {
    const local = listSlots()
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, buffer]) => slotInfo(name, 'process', buffer));
    return [...local, ...listMachineSegments()];
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

  /** Where the slot's name is visible: `'process'` (this process's threads) or `'machine'` (this user's processes). */
  get scope(): SharedObjectScope {
    return slotLockKind(this.buffer) === kLockRobustMutex ? 'machine' : 'process';
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
    return `SharedObject "${this.name}" <${kind}>${this.scope === 'machine' ? ' (machine)' : ''}`;
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

/**
 * The process-scope slot of `name`, if any. A worker without a registry link has no process
 * scope to look in: its ERR_NOT_FOUND is kept for when no machine-scope slot answers either.
 */
function lookupProcessSlot(name: string): {
  buffer?: SharedArrayBuffer;
  registryError?: KeelError;
} {
  try {
    const buffer = lookupSlot(name);
    return buffer === undefined ? {} : { buffer };
  } catch (error) {
    if (error instanceof KeelError && error.code === 'ERR_NOT_FOUND')
      return { registryError: error };
    throw error;
  }
}
