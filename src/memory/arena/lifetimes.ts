/**
 * The receiver side's lifetimes: when may a unit's space be reused?
 *
 * Every restored unit gets its own SharedArrayBuffer object (a "pin": a second JS object over
 * the same shared memory, made by cloning the arena's buffer on this thread). All its views are
 * built over the pin, so anything that can reach the unit's bytes (a view, a `subarray()` of
 * it, a DataView, `view.buffer`) holds the pin. When the pin becomes unreachable the
 * FinalizationRegistry below ends the unit; `release` ends it at once.
 *
 * The registry is module-level (one per thread): a registry that is itself collected never
 * calls back, and an arena handle may die before the views it produced.
 */

import type { ArenaTicket } from './envelope.js';
import { copyGraph, forEachLeafObject } from './graph.js';
import { copyView, isSharedArrayBuffer } from './leaf-types.js';

/** One restored unit held by this thread. */
export interface UnitLease {
  /** Lets go of the units; called at most once. */
  readonly end: () => void;
  released: boolean;
  /** The units the pin's views point into (a view of one may be forwarded by reference). */
  readonly units: readonly ArenaTicket[];
}

const kArenaBuffers = new WeakSet<object>();
const kLeaseByPin = new WeakMap<object, UnitLease>();
const kLeaseByRoot = new WeakMap<object, UnitLease>();
const kRegistry = new FinalizationRegistry<UnitLease>((lease) => {
  endLease(lease);
});

/** Remembers an arena's buffer: a view over it must never cross by reference. */
export function markArenaBuffer(buffer: SharedArrayBuffer): void {
  kArenaBuffers.add(buffer);
}

/** True for an arena's buffer or a pin, i.e. memory whose reuse keel controls. */
export function isArenaBacked(buffer: ArrayBufferLike): boolean {
  return kArenaBuffers.has(buffer);
}

/** A fresh JS object over the same shared memory (cloning a SAB shares, never copies). */
export function newPin(buffer: SharedArrayBuffer): SharedArrayBuffer {
  const pin = structuredClone(buffer);
  kArenaBuffers.add(pin);
  return pin;
}

/** Ties a unit's lifetime to its pin (and lets `release(root)` find it). */
export function holdUnit(
  pin: SharedArrayBuffer,
  root: unknown,
  units: readonly ArenaTicket[],
  end: () => void,
): UnitLease {
  const lease: UnitLease = { end, released: false, units };
  kLeaseByPin.set(pin, lease);
  if (typeof root === 'object' && root !== null) kLeaseByRoot.set(root, lease);
  kRegistry.register(pin, lease, lease);
  return lease;
}

/**
 * The units this thread holds through `buffer` (a pin), or null when it is not a pin or its
 * lease has ended (released views cross by copying, as any stale bytes would).
 */
export function unitsHeldThrough(buffer: ArrayBufferLike): readonly ArenaTicket[] | null {
  const lease = kLeaseByPin.get(buffer);
  return lease === undefined || lease.released ? null : lease.units;
}

/** Ends a lease once; false when it had already ended. */
export function endLease(lease: UnitLease): boolean {
  if (lease.released) return false;
  lease.released = true;
  kRegistry.unregister(lease);
  try {
    lease.end();
  } catch {
    // The unit was already reclaimed (its arena's owner thread decided so): nothing to return.
  }
  return true;
}

/** Ends, now, every unit whose views `value` holds; returns how many ended. */
export function releaseValue(value: unknown): number {
  const leases = new Set<UnitLease>();
  const note = (candidate: object): void => {
    const lease = kLeaseByPin.get(candidate) ?? kLeaseByRoot.get(candidate);
    if (lease !== undefined) leases.add(lease);
  };
  if (typeof value === 'object' && value !== null) note(value);
  forEachLeafObject(value, (leaf) => {
    note(ArrayBuffer.isView(leaf) ? leaf.buffer : leaf);
  });
  let ended = 0;
  for (const lease of leases) if (endLease(lease)) ended++;
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
