/**
 * The receiver side's lifetimes: when may a unit's space be reused?
 *
 * Every restored unit gets its own SharedArrayBuffer object (a "pin": a second JS object over
 * the same shared memory, made by cloning the arena's buffer on this thread). All its views are
 * built over the pin, so anything that can reach the unit's bytes (a view, a `subarray()` of
 * it, a DataView, `view.buffer`) holds the pin. When the pin becomes unreachable the
 * FinalizationRegistry below ends the unit; `release` ends it at once, finding the lease through
 * the views the released value reaches.
 *
 * The registry is module-level (one per thread): a registry that is itself collected never
 * calls back, and an arena handle may die before the views it produced.
 *
 * Registration waits (see `registerLater`): V8's minor collections keep every registered
 * object alive, so a pin registered at once is promoted to the old generation even when its
 * views are released a few microseconds later. A stream's consumer or a pool's caller that
 * releases what it received within ~10 ms never registers it at all.
 */

import { copyGraph, forEachLeafObject } from './graph.js';
import { copyView, isSharedArrayBuffer } from './leaf-types.js';

/** Gives back what a lease holds: the engine of the thread that restored (or allocated) it. */
export interface LeaseOwner {
  /** The arena the held units are in. */
  readonly arenaId: number;
  /** Ends the unit and the holds of the held part at `heldAt` (envelope.ts). */
  endHeld(numbers: readonly number[], heldAt: number): void;
}

/**
 * One restored unit held by this thread: the held part of the numbers it arrived with (its unit
 * and the holds on units forwarded by reference, with their regions). No closure: a lease is
 * made per value received, and the fewer objects each one leaves, the less a young collection
 * has to copy.
 */
export interface UnitLease {
  readonly owner: LeaseOwner;
  readonly numbers: readonly number[];
  readonly heldAt: number;
  released: boolean;
  /** Its place in the pending list while it waits to be registered (absolute), else -1. */
  pendingAt: number;
}

/**
 * A pin carries its lease in a symbol-keyed property rather than in a WeakMap: adding a
 * property costs tens of nanoseconds, a weak-collection insert an order of magnitude more,
 * and a pool call restores a unit on each side. null: a pin whose unit is not held (yet).
 */
const kPinLease = Symbol('keel.arena.pinLease');
type Pin = SharedArrayBuffer & { [kPinLease]?: UnitLease | null };

/** The arenas' own buffers (a pin is recognised by its property instead). */
const kArenaBuffers = new WeakSet<object>();
// No weak collection maps a restored container to its lease: only a full collection clears a
// WeakMap's dead entries, and until then its table kept each received value (and its tickets)
// alive through the young collections, promoting it. Measured on the 1.2 MB pool round trip
// (results `[frame]`): scavenges survived by ~380 KB and ~1.2 ms long, against ~170 KB and
// ~0.7 ms without the map (docs/arena.md, "Lifetimes"; test/arena-young-garbage.test.ts).
const kRegistry = new FinalizationRegistry<UnitLease>((lease) => {
  endLease(lease);
});

/** Remembers an arena's buffer: a view over it must never cross by reference. */
export function markArenaBuffer(buffer: SharedArrayBuffer): void {
  kArenaBuffers.add(buffer);
}

/** True for an arena's buffer or a pin, i.e. memory whose reuse keel controls. */
export function isArenaBacked(buffer: ArrayBufferLike): boolean {
  return (buffer as Pin)[kPinLease] !== undefined || kArenaBuffers.has(buffer);
}

/** A fresh JS object over the same shared memory (cloning a SAB shares, never copies). */
export function newPin(buffer: SharedArrayBuffer): SharedArrayBuffer {
  const pin: Pin = structuredClone(buffer);
  pin[kPinLease] = null;
  return pin;
}

/**
 * Ties the held part of `numbers` at `heldAt` to `pin`'s lifetime: `release` reaches the pin
 * through any view's `buffer`, the registry when the pin is collected.
 */
export function holdUnit(
  pin: SharedArrayBuffer,
  owner: LeaseOwner,
  numbers: readonly number[],
  heldAt: number,
): UnitLease {
  const lease: UnitLease = { owner, numbers, heldAt, released: false, pendingAt: -1 };
  (pin as Pin)[kPinLease] = lease;
  registerLater(pin, lease);
  return lease;
}

/**
 * Pins waiting to be registered, oldest first, with the times they were made; a released one
 * leaves a null (endLease), so that the list does not keep it alive into the next young
 * collection. `pendingHead` counts the entries taken off the front.
 */
const pendingPins: (Pin | null)[] = [];
const pendingSinceMs: number[] = [];
let pendingHead = 0;
/** At most this many pins wait; more are registered at once. */
const kMaxPendingPins = 256;
/** A pin this old is registered when the thread makes its next pin. */
const kRegisterAfterMs = 10;
/** ... or by a timer, at most this long after it was made, if no pin comes meanwhile. */
const kRegisterBackstopMs = 500;
let backstopArmed = false;

/**
 * Registers `pin` later, unless its lease has ended by then: when this thread makes a pin
 * kRegisterAfterMs or more after it (a receiving thread makes one per value received, so
 * this check costs a clock read and no wake-up), or at the latest by a kRegisterBackstopMs
 * timer (a thread that stops receiving still lets its dropped views' units go). Measured and
 * dropped: a setImmediate per turn registers what a stream's consumer takes from its buffer
 * in a later turn; a 10 ms timer wakes an idle event loop for nothing. Until registered, the
 * pending list holds the pin, so it can never be collected unregistered; kMaxPendingPins
 * bounds the list.
 */
function registerLater(pin: Pin, lease: UnitLease): void {
  const nowMs = performance.now();
  if (pendingPins.length > 0 && pendingSinceMs[0]! <= nowMs - kRegisterAfterMs) {
    registerPending(nowMs - kRegisterAfterMs);
  }
  lease.pendingAt = pendingHead + pendingPins.length;
  pendingPins.push(pin);
  pendingSinceMs.push(nowMs);
  if (pendingPins.length >= kMaxPendingPins) registerPending(Infinity);
  else if (!backstopArmed) armBackstop();
}

function armBackstop(): void {
  backstopArmed = true;
  // Unref'd: a pending registration has nothing left to protect once the thread ends.
  const timer = setTimeout(() => {
    backstopArmed = false;
    registerPending(performance.now() - kRegisterAfterMs);
    if (pendingPins.length > 0) armBackstop();
  }, kRegisterBackstopMs);
  (timer as { unref?: () => void }).unref?.();
}

/** Registers the pending pins made at or before `madeByMs` whose leases have not ended. */
function registerPending(madeByMs: number): void {
  let count = 0;
  while (count < pendingPins.length && pendingSinceMs[count]! <= madeByMs) count++;
  const pins = pendingPins.splice(0, count);
  pendingSinceMs.splice(0, count);
  pendingHead += count;
  for (const pin of pins) {
    const lease = pin?.[kPinLease];
    if (!lease) continue;
    lease.pendingAt = -1;
    if (!lease.released) kRegistry.register(pin, lease);
  }
}

/** Drops a released lease's pin from the pending list (it needs no registration now). */
function unpend(lease: UnitLease): void {
  const index = lease.pendingAt - pendingHead;
  if (index >= 0 && index < pendingPins.length) pendingPins[index] = null;
  lease.pendingAt = -1;
}

/** The lease of a pin (a view's `buffer`), if it is one and its unit is held. */
function leaseOf(buffer: object): UnitLease | undefined {
  return (buffer as Pin)[kPinLease] ?? undefined;
}

/**
 * The lease this thread holds through `buffer` (a pin), or null when it is not a pin or its
 * lease has ended (released views cross by copying, as any stale bytes would).
 */
export function leaseThrough(buffer: ArrayBufferLike): UnitLease | null {
  const lease = leaseOf(buffer);
  return lease === undefined || lease.released ? null : lease;
}

/**
 * Ends a lease once; false when it had already ended. The registry entry stays: unregistering
 * costs more than the registry's later call, which finds the lease ended and does nothing.
 */
export function endLease(lease: UnitLease): boolean {
  if (lease.released) return false;
  lease.released = true;
  if (lease.pendingAt >= 0) unpend(lease);
  try {
    lease.owner.endHeld(lease.numbers, lease.heldAt);
  } catch {
    // The unit was already reclaimed (its arena's owner thread decided so): nothing to return.
  }
  return true;
}

/** Ends, now, every unit whose views `value` holds; returns how many ended. */
export function releaseValue(value: unknown): number {
  // The common cases, one view or an array of views and primitives (call arguments): no walk.
  if (ArrayBuffer.isView(value)) return releaseBuffer(value.buffer);
  if (Array.isArray(value) && value.length <= kShallowReleaseLength) {
    const ended = releaseShallow(value);
    if (ended >= 0) return ended;
  }
  const leases = new Set<UnitLease>();
  forEachLeafObject(value, (leaf) => {
    const lease = leaseOf(ArrayBuffer.isView(leaf) ? leaf.buffer : leaf);
    if (lease !== undefined) leases.add(lease);
  });
  let ended = 0;
  for (const lease of leases) if (endLease(lease)) ended++;
  return ended;
}

const kShallowReleaseLength = 16;

function releaseBuffer(buffer: ArrayBufferLike): number {
  const lease = leaseOf(buffer);
  return lease !== undefined && endLease(lease) ? 1 : 0;
}

/** Ends the leases of an array of views and primitives; -1 (nothing ended) for any other array. */
function releaseShallow(array: readonly unknown[]): number {
  for (const item of array) {
    if (typeof item === 'object' && item !== null && !ArrayBuffer.isView(item)) return -1;
  }
  let ended = 0;
  for (const item of array) if (ArrayBuffer.isView(item)) ended += releaseBuffer(item.buffer);
  return ended;
}

/** A copy of the containers of `value` where every arena-backed view owns its bytes. */
export function keepValue<T>(value: T): T {
  const graph = copyGraph(value, (leaf) => {
    if (
      ArrayBuffer.isView(leaf) &&
      isSharedArrayBuffer(leaf.buffer) &&
      isArenaBacked(leaf.buffer)
    ) {
      return copyView(leaf);
    }
    return leaf;
  });
  return graph.root as T;
}
