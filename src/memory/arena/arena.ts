/**
 * `Arena`: the public face. Validates arguments, holds the engine. See docs/arena.md.
 */

import { invalidArgument } from '../../errors.js';
import { copyBytes } from '../copy-bytes.js';
import { currentArena } from './current.js';
import { ArenaEngine } from './engine.js';
import { type ArenaEnvelope, isEnvelope } from './envelope.js';
import {
  kFallbacksWord,
  kHighWaterBlocksWord,
  kLiveUnitsWord,
  kUsedBlocksWord,
  kWaitsWord,
} from './layout.js';
import { leafTypeOfPrototype, type LeafType } from './leaf-types.js';
import { ArenaMemory } from './memory.js';
import {
  type ArenaOptions,
  type ArenaShared,
  type ArenaStats,
  type ArenaTicket,
  type ArenaWaitOptions,
  checkCount,
  checkTicket,
  validateOptions,
  waitDeadlineMs,
} from './options.js';
import type { UnitWriter } from './unit-writer.js';

/**
 * A unit's writer, in a symbol-keyed property of the unit rather than in a WeakMap: a WeakMap
 * entry per unit keeps each one alive through V8's young collections (lifetimes.ts).
 */
const kUnitWriter = Symbol('keel.arena.unitWriter');
type UnitWithWriter = ArenaUnit & { [kUnitWriter]?: UnitWriter };

/** A TypedArray constructor (or Node's Buffer) that `allocate` can build over the arena. */
export interface ArenaViewConstructor<V extends ArrayBufferView> {
  /** The type's prototype: `allocate` recognises the type by it (a subclass is refused). */
  readonly prototype: V;
  /** The constructor's name, as in `Float32Array.name`. */
  readonly name: string;
}

function allocatableType(Type: unknown): LeafType {
  const prototype = (Type as { prototype?: unknown } | null)?.prototype;
  const type =
    typeof Type === 'function' && typeof prototype === 'object' && prototype !== null
      ? leafTypeOfPrototype(prototype)
      : undefined;
  if (type === undefined || type === 'DataView' || type === 'ArrayBuffer') {
    throw invalidArgument('Type', 'a TypedArray constructor or Buffer', Type);
  }
  return type;
}

/** A unit being written on this thread (opaque): pass it to `reserveLeaf`, `commitUnit`... */
export class ArenaUnit {}

/** Set by `fromShared` for the one constructor call that adopts an existing engine. */
let adoptedEngine: ArenaEngine | undefined;
/** An arena's engine, for the offload variants keel's own transports use (below the class). */
let engineOf: (arena: Arena) => ArenaEngine;

/**
 * A region of shared memory that carries large binary leaves between threads with one copy
 * (into the arena) and none on the receiving side (views over it).
 *
 * @example
 * const arena = new Arena({ bytes: 64 * 2 ** 20 });
 * const envelope = arena.offload({ frame: new Uint8Array(480 * 848 * 3), id: 7 });
 * port.postMessage(envelope);                   // a few hundred bytes
 * // on the other side, with const far = Arena.fromShared(data), data = arena.share():
 * const { frame } = far.restore(envelope);      // a Uint8Array over the arena, no copy
 * release(frame);                               // or let it be garbage-collected
 */
export class Arena {
  readonly #engine: ArenaEngine;
  readonly #creator: boolean;

  static {
    engineOf = (arena) => arena.#engine;
  }

  constructor(options: ArenaOptions = {}) {
    if (adoptedEngine !== undefined) {
      this.#engine = adoptedEngine;
      this.#creator = false;
      adoptedEngine = undefined;
      return;
    }
    const sizes = validateOptions(options);
    const memory = ArenaMemory.create(sizes);
    this.#engine = new ArenaEngine(memory, memory.newHandleId(), sizes.minBytes);
    this.#creator = true;
  }

  /**
   * Inside a keel worker thread started with an arena (`new Pool({ arena })`,
   * `spawn(..., { arena })`, `iterateInWorker(..., { arena })`), that worker's handle of it;
   * elsewhere (the main thread, child processes, workers without an arena) `undefined`. With
   * it, worker code writes a result straight into shared memory (`allocate`), and the result
   * then crosses by reference, with no copy at all.
   *
   * @example
   * // camera.mjs, run by iterateInWorker(url, 'frames', [], { arena })
   * export function* frames() {
   *   const arena = Arena.current();
   *   for (;;) {
   *     const frame = arena.allocate(Uint8Array, 480 * 848 * 3, { zero: false });
   *     decodeInto(frame);
   *     yield frame; // crosses by reference
   *     release(frame); // this thread's hold; the loop keeps its own
   *   }
   * }
   */
  static current(): Arena | undefined {
    return currentArena();
  }

  /**
   * A handle over an existing arena on this thread, from the data `share()` returned on
   * another (or the same) thread. Build one handle per `share()`.
   *
   * @example
   * // worker.mjs
   * const arena = Arena.fromShared(workerData.arena);
   */
  static fromShared(data: ArenaShared): Arena {
    if (
      typeof data !== 'object' ||
      data === null ||
      (data as { kind?: unknown }).kind !== 'keel.arena'
    ) {
      throw invalidArgument('data', 'the result of arena.share()', data);
    }
    if (!Number.isInteger(data.handleId) || data.handleId <= 0) {
      throw invalidArgument('data.handleId', 'a positive integer', data.handleId);
    }
    const memory = ArenaMemory.attach(data.buffer);
    adoptedEngine = new ArenaEngine(memory, data.handleId, memory.minBytes);
    return new Arena();
  }

  /** True for an envelope made by `offload` (a cheap shape check). */
  static isEnvelope(value: unknown): value is ArenaEnvelope {
    return isEnvelope(value);
  }

  /**
   * Data to rebuild this arena on another thread: the SharedArrayBuffer and a fresh handle id.
   * Structured-cloneable. Call once per receiving thread; the id names that thread's handle in
   * `reclaimHandle`.
   *
   * @example
   * const data = arena.share();
   * const worker = new Worker(url, { workerData: { arena: data } });
   * worker.once('exit', () => arena.reclaimHandle(data.handleId));
   */
  share(): ArenaShared {
    const memory = this.#engine.memory;
    return { kind: 'keel.arena', buffer: memory.buffer, handleId: memory.newHandleId() };
  }

  /** Capacity of the data area in bytes. */
  get bytes(): number {
    return this.#engine.memory.data.byteLength;
  }

  /** Leaves of at least this many bytes are offloaded (the creator's option, on every handle). */
  get minBytes(): number {
    return this.#engine.minBytes;
  }

  /** Allocation granule; every leaf starts on a block boundary (64-byte aligned at least). */
  get blockBytes(): number {
    return this.#engine.memory.layout.blockBytes;
  }

  /** This handle's id (the creator's is 1). */
  get handleId(): number {
    return this.#engine.handleId;
  }

  /** True once this handle, or the creator's, was closed. */
  get closed(): boolean {
    return this.#engine.closed;
  }

  // ---------------------------------------------------------------------------------------------
  // Whole values.

  /**
   * Writer side, never waits (the RPC sender's variant). Copies every binary leaf of at least
   * `minBytes` into the arena once and returns an envelope to post in place of the value.
   * Leaves that do not fit right now, or are larger than the arena, stay in the envelope and
   * cross by copying (counted in `stats().fallbacks`). Throws `ERR_CLOSED` once closed.
   *
   * @example
   * port.postMessage(arena.offload({ frame, meta }));
   */
  offload<T>(value: T): ArenaEnvelope<T> {
    return this.#engine.offloadNow(value) as ArenaEnvelope<T>;
  }

  /**
   * Writer side, waits for room (the streaming sender's variant: backpressure). Never blocks
   * the thread; never holds part of the space while waiting. Only leaves larger than the
   * arena cross by copying. Rejects with `ERR_TIMEOUT` after `timeoutMs`, with the signal's
   * reason on abort, with `ERR_CLOSED` when the arena closes. Do not change the value before
   * the promise settles: its bytes are copied when room appears.
   *
   * @example
   * port.postMessage(await arena.offloadAsync(frame, { timeoutMs: 5000, signal }));
   */
  offloadAsync<T>(value: T, options: ArenaWaitOptions = {}): Promise<ArenaEnvelope<T>> {
    let deadlineMs: number;
    try {
      deadlineMs = waitDeadlineMs(options);
    } catch (error) {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- a KeelError from the validation
      return Promise.reject(error);
    }
    return this.#engine.offloadWaiting(value, deadlineMs, options.signal) as Promise<
      ArenaEnvelope<T>
    >;
  }

  /**
   * Receiver side: the value back, each offloaded leaf a view of the same type and length over
   * the arena (ArrayBuffer leaves, which cannot alias shared memory, come back as copies). The
   * unit's space returns when every such view is unreachable, or on `release`. An envelope can
   * be restored once, on any handle of the same arena.
   *
   * @example
   * port.on('message', (envelope) => show(arena.restore(envelope)));
   */
  restore<T>(envelope: ArenaEnvelope<T>): T {
    if (!isEnvelope(envelope)) throw invalidArgument('envelope', 'an arena envelope', envelope);
    return this.#engine.restore(envelope) as T;
  }

  /**
   * A zero-filled `Type` of `length` elements living in the arena, held by this thread like a
   * received view (its space returns on `release` or when it is garbage-collected). Write a
   * frame straight into it, then pass it to a pool task, a remote method or a stream: it
   * crosses by reference, with no copy; the receiver sees the same memory. Throws
   * `ERR_ARENA_FULL` when there is no room right now, `ERR_CLOSED` once closed.
   * `{ zero: false }` skips the fill (the contents are then whatever the region last held).
   *
   * @example
   * const frame = arena.allocate(Uint8Array, 480 * 848 * 3);
   * camera.readInto(frame);
   * const boxes = await pool.run(detectUrl, 'detect', [frame]); // new Pool({ arena }): no copy
   */
  allocate<V extends ArrayBufferView>(
    Type: ArenaViewConstructor<V>,
    length: number,
    options: { readonly zero?: boolean } = {},
  ): V {
    const type = allocatableType(Type);
    if (!Number.isInteger(length) || length < 0) {
      throw invalidArgument('length', 'a non-negative integer', length);
    }
    if (typeof options !== 'object' || options === null) {
      throw invalidArgument('options', 'an object', options);
    }
    return this.#engine.allocate(type, length, options.zero ?? true) as V;
  }

  /**
   * Sender side: gives back the space of an envelope that will never be restored (posting it
   * failed, or its receiver died before restoring it). Harmless if it was restored, ended or
   * reclaimed already: returns false then.
   *
   * @example
   * try { port.postMessage(envelope); } catch (error) { arena.discard(envelope); throw error; }
   */
  discard(envelope: ArenaEnvelope): boolean {
    if (!isEnvelope(envelope)) throw invalidArgument('envelope', 'an arena envelope', envelope);
    return this.#engine.discard(envelope);
  }

  /** Arena-wide counters, read without locking (any thread). */
  stats(): ArenaStats {
    const memory = this.#engine.memory;
    const blockBytes = memory.layout.blockBytes;
    return {
      bytes: memory.data.byteLength,
      bytesInUse: memory.read(kUsedBlocksWord) * blockBytes,
      highWaterBytes: memory.read(kHighWaterBlocksWord) * blockBytes,
      units: memory.read(kLiveUnitsWord),
      fallbacks: memory.read(kFallbacksWord),
      waits: memory.read(kWaitsWord),
    };
  }

  /**
   * No new units (`ERR_CLOSED`); writers waiting for space reject with `ERR_CLOSED`. On the
   * creator this closes the arena for every handle; on a handle from `fromShared`, only that
   * handle. Restoring, releasing and ending units keep working, so items in flight drain.
   */
  close(): void {
    this.#engine.close(this.#creator);
  }

  // ---------------------------------------------------------------------------------------------
  // The unit protocol, for custom transports (what offload and restore are made of).

  /**
   * Writer side: starts a unit (one item's leaves). Never blocks. Throws `ERR_CLOSED`.
   *
   * @example
   * const unit = arena.beginUnit();
   * const at = arena.writeLeaf(unit, bytes);          // -1: no room now
   * if (at < 0) { arena.abortUnit(unit); await arena.waitForSpace(bytes.byteLength); ... }
   * port.postMessage({ ticket: arena.commitUnit(unit), at, length: bytes.byteLength });
   */
  beginUnit(): ArenaUnit {
    const unit: UnitWithWriter = new ArenaUnit();
    unit[kUnitWriter] = this.#engine.newWriter();
    return unit;
  }

  /**
   * Writer side: reserves `byteLength` bytes on a block boundary and returns their offset in
   * the data area (for `leafBytes`), or -1 when there is no room right now. Never blocks.
   */
  reserveLeaf(unit: ArenaUnit, byteLength: number): number {
    const writer = this.#writerOf(unit);
    if (!Number.isInteger(byteLength) || byteLength < 0) {
      throw invalidArgument('byteLength', 'a non-negative integer', byteLength);
    }
    if (byteLength > this.bytes) return -1;
    return writer.reserve(byteLength);
  }

  /** Writer side: `reserveLeaf` then copies `bytes` there. Returns the offset, or -1. */
  writeLeaf(unit: ArenaUnit, bytes: ArrayBufferView | ArrayBuffer): number {
    const source = ArrayBuffer.isView(bytes)
      ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
      : bytes instanceof ArrayBuffer
        ? new Uint8Array(bytes)
        : undefined;
    if (source === undefined) throw invalidArgument('bytes', 'an ArrayBuffer or a view', bytes);
    const offset = this.reserveLeaf(unit, source.byteLength);
    if (offset >= 0)
      copyBytes(this.#engine.memory.data.subarray(offset, offset + source.byteLength), source);
    return offset;
  }

  /**
   * Any side: a Uint8Array over `byteLength` bytes of the data area at `byteOffset`. Not
   * tracked: the caller ends the unit only when done with it.
   */
  leafBytes(byteOffset: number, byteLength: number): Uint8Array {
    const data = this.#engine.memory.data;
    if (
      !Number.isInteger(byteOffset) ||
      !Number.isInteger(byteLength) ||
      byteOffset < 0 ||
      byteLength < 0 ||
      byteOffset + byteLength > data.byteLength
    ) {
      throw invalidArgument('byteOffset/byteLength', 'a range inside the arena', [
        byteOffset,
        byteLength,
      ]);
    }
    return data.subarray(byteOffset, byteOffset + byteLength);
  }

  /** Writer side: publishes the unit; post the ticket (cloneable) with your message. */
  commitUnit(unit: ArenaUnit): ArenaTicket {
    return this.#writerOf(unit).commit();
  }

  /** Writer side: returns everything the unit reserved. A no-op after commit or abort. */
  abortUnit(unit: ArenaUnit): void {
    this.#writerOf(unit).abort();
  }

  /**
   * Receiver side, optional: takes over a committed unit, so that it survives its writer's
   * death (`reclaimHandle` of the writer leaves it alone). `restore` does it.
   */
  acceptUnit(ticket: ArenaTicket): void {
    this.#engine.acceptUnit(checkTicket(ticket));
  }

  /**
   * Receiver side: returns a whole unit's space. Any thread, never blocks. Returns false when
   * the unit had ended already (a second call is harmless).
   */
  endUnit(ticket: ArenaTicket): boolean {
    return this.#engine.endUnit(checkTicket(ticket));
  }

  /**
   * Writer side: resolves once `byteLength` bytes are free (another writer may take them
   * first: retry). Rejects `ERR_ARENA_FULL` at once if they never could be, `ERR_TIMEOUT`,
   * the signal's reason, or `ERR_CLOSED`. Counts a wait when it had to wait.
   */
  async waitForSpace(byteLength: number, options: ArenaWaitOptions = {}): Promise<void> {
    if (!Number.isInteger(byteLength) || byteLength < 0) {
      throw invalidArgument('byteLength', 'a non-negative integer', byteLength);
    }
    return this.#engine.waitForSpace(byteLength, waitDeadlineMs(options), options.signal);
  }

  /** For transports: count leaves that crossed by copying for their own reasons. */
  recordFallback(count = 1): void {
    this.#engine.memory.count(kFallbacksWord, checkCount(count));
  }

  /** For transports: count waits for space done by their own means. */
  recordWait(count = 1): void {
    this.#engine.memory.count(kWaitsWord, checkCount(count));
  }

  /**
   * Lets go of everything the handle `handleId` still holds: units being written, committed but
   * not accepted, or restored there, and holds on units it forwarded or received by reference.
   * Units nobody else holds are freed. Call it only after that handle's thread has exited (a
   * worker's 'exit' event): a live thread would keep using the space. Returns how many units
   * and holds it let go of.
   */
  reclaimHandle(handleId: number): number {
    if (!Number.isInteger(handleId) || handleId <= 0 || handleId === this.handleId) {
      throw invalidArgument('handleId', "another handle's id (a positive integer)", handleId);
    }
    return this.#engine.memory.reclaimOwner(handleId);
  }

  #writerOf(unit: ArenaUnit): UnitWriter {
    const writer = (unit as UnitWithWriter | null)?.[kUnitWriter];
    if (writer === undefined) throw invalidArgument('unit', 'a unit from arena.beginUnit()', unit);
    return writer;
  }
}

/**
 * An arena's engine, for keel's own transports (transit.ts: offloads that leave moved leaves
 * in the value). Not exported from keel.
 */
export function arenaEngine(arena: Arena): ArenaEngine {
  return engineOf(arena);
}
