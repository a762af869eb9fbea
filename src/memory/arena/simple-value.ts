/**
 * Finding the leaves of the values most calls carry, in one pass: a binary view, or an array
 * or plain object whose own values are primitives, views, and arrays or plain objects of
 * primitives only (`frame`, `[frame, 3]`, `[frame, { quality: 80 }]`, `{ frame, meta: { seq,
 * ts } }`). Each leaf is a group of its own and goes back to an own key of the value, so the
 * envelope takes its compact shape (`kOwnKeys`, envelope.ts) and nothing here builds a map, a
 * set or a copy of the value's graph: that is the general finder's cost (leaf-groups.ts), and
 * on a pool's round trip of one frame it was most of the arena's work.
 *
 * A view under `minBytes` of plain memory (a robot's joint state beside its camera frame) stays
 * in the value, cloned by the transport, as the general finder would leave it.
 *
 * `findSimpleLeaves` only looks; it gives up (null) on anything the general finder must judge:
 * deeper nesting, Maps and Sets, a small Buffer (it must come back a Buffer) or a small view of
 * shared memory (copied when it aliases the arena), an ArrayBuffer leaf (restored as a copy),
 * two views over one buffer of which one goes to the arena (aliasing), a large view over a
 * SharedArrayBuffer that is not a pin this thread holds.
 */

import type { LeafGroup } from './placement.js';
import { isSharedArrayBuffer, viewLength, viewTypeOf, type LeafType } from './leaf-types.js';
import { leaseThrough, type UnitLease } from './lifetimes.js';

/** More own values than this and the general finder's one walk is as cheap. */
export const kMaxSimpleEntries = 32;

/** One view of a simple value: a group of its own, and the leaf in it. */
export interface SimpleLeaf extends LeafGroup {
  /** Where it sits: an index or key of the container; null for the value itself. */
  readonly key: string | number | null;
  readonly type: LeafType;
  /** Elements for typed arrays, bytes for DataView and Buffer. */
  readonly length: number;
}

export interface SimpleValue {
  /** The value itself, an array, or a plain object. */
  readonly shape: 'view' | 'array' | 'object';
  readonly leaves: readonly SimpleLeaf[];
}

/** A value with nothing to place: it crosses as it is. Shared, never written to. */
const kNothingToPlace: SimpleValue = Object.freeze({ shape: 'view', leaves: Object.freeze([]) });

/** What `addEntry` made of an own value. */
const kRefused = 0;
const kTaken = 1;
/** A view under `minBytes` that stays in the value (cloned with it). */
const kKept = 2;

/** The leaves of a simple value, or null when the general finder must take it. */
export function findSimpleLeaves(value: unknown, minBytes: number): SimpleValue | null {
  if (typeof value !== 'object' || value === null) return kNothingToPlace;
  if (ArrayBuffer.isView(value)) {
    if (value.byteLength < minBytes) return staysInValue(value) ? kNothingToPlace : null;
    const leaf = simpleLeaf(value, null);
    return leaf === null ? null : { shape: 'view', leaves: [leaf] };
  }
  return Array.isArray(value) ? findInArray(value, minBytes) : findInObject(value, minBytes);
}

function findInArray(value: readonly unknown[], minBytes: number): SimpleValue | null {
  // Named properties (which cloning keeps) and holes: the general finder keeps them.
  if (
    Object.getPrototypeOf(value) !== Array.prototype ||
    value.length > kMaxSimpleEntries ||
    Object.keys(value).length !== value.length
  ) {
    return null;
  }
  const leaves: SimpleLeaf[] = [];
  let kept: ArrayBufferLike[] | null = null; // made only for a value with small views
  for (let index = 0; index < value.length; index++) {
    // A hole and a named property could balance the count above: holes are checked too.
    if (!(index in value)) return null;
    const entry: unknown = value[index];
    const found = addEntry(entry, index, minBytes, leaves);
    if (found === kRefused) return null;
    if (found === kKept) (kept ??= []).push((entry as ArrayBufferView).buffer);
  }
  return kept === null || apart(kept, leaves) ? { shape: 'array', leaves } : null;
}

function findInObject(value: object, minBytes: number): SimpleValue | null {
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return null;
  const keys = Object.keys(value);
  if (keys.length > kMaxSimpleEntries) return null;
  const record = value as Record<string, unknown>;
  const leaves: SimpleLeaf[] = [];
  let kept: ArrayBufferLike[] | null = null;
  for (const key of keys) {
    // Assigning '__proto__' on either side would set a prototype, not a property.
    if (key === '__proto__') return null;
    const entry = record[key];
    const found = addEntry(entry, key, minBytes, leaves);
    if (found === kRefused) return null;
    if (found === kKept) (kept ??= []).push((entry as ArrayBufferView).buffer);
  }
  return kept === null || apart(kept, leaves) ? { shape: 'object', leaves } : null;
}

/**
 * kRefused when `entry` needs the general finder; kTaken for a primitive or a container of
 * primitives (it crosses as it is) or a leaf (appended to `leaves`); kKept for a small view.
 */
function addEntry(
  entry: unknown,
  key: string | number,
  minBytes: number,
  leaves: SimpleLeaf[],
): number {
  if (typeof entry === 'function') return kRefused; // the general path names it in its error
  if (typeof entry !== 'object' || entry === null) return kTaken;
  if (!ArrayBuffer.isView(entry)) return holdsPrimitivesOnly(entry) ? kTaken : kRefused;
  if (entry.byteLength < minBytes) return staysInValue(entry) ? kKept : kRefused;
  const leaf = simpleLeaf(entry, key);
  if (leaf === null) return kRefused;
  for (let index = 0; index < leaves.length; index++) {
    if (leaves[index]!.buffer === leaf.buffer) return kRefused; // aliasing: one group
  }
  leaves.push(leaf);
  return kTaken;
}

/**
 * True when no small view kept in the value shares a buffer with a leaf going to the arena:
 * such a pair would lose its aliasing (small ones among themselves keep it, cloned together).
 */
function apart(kept: readonly ArrayBufferLike[], leaves: readonly SimpleLeaf[]): boolean {
  for (const leaf of leaves) if (kept.includes(leaf.buffer)) return false;
  return true;
}

/**
 * True for a view under `minBytes` that crosses in the value as cloning carries it: plain
 * memory, and not a Buffer (which cloning turns into a Uint8Array).
 */
function staysInValue(view: ArrayBufferView): boolean {
  return !isSharedArrayBuffer(view.buffer) && viewTypeOf(view) !== 'Buffer';
}

/**
 * True for a plain array or object whose own values are all primitives (a call's options, an
 * item's metadata): it crosses as it is, cloned by the transport, with nothing to offload.
 */
function holdsPrimitivesOnly(container: object): boolean {
  const prototype: unknown = Object.getPrototypeOf(container);
  let values: unknown[];
  if (Array.isArray(container)) {
    if (prototype !== Array.prototype || container.length > kMaxSimpleEntries) return false;
    values = container;
    for (let index = 0; index < values.length; index++) if (!(index in values)) return false;
  } else {
    if (prototype !== Object.prototype && prototype !== null) return false;
    values = Object.values(container);
    if (values.length > kMaxSimpleEntries) return false;
  }
  for (const value of values) {
    if (typeof value === 'function' || (typeof value === 'object' && value !== null)) return false;
  }
  return true;
}

/** A view of at least `minBytes` as a leaf; null for a view of shared memory that is not a pin. */
function simpleLeaf(view: ArrayBufferView, key: string | number | null): SimpleLeaf | null {
  const buffer = view.buffer;
  let lease: UnitLease | null = null;
  if (isSharedArrayBuffer(buffer)) {
    lease = leaseThrough(buffer);
    if (lease === null) return null;
  }
  const start = view.byteOffset;
  return {
    buffer,
    start,
    end: start + view.byteLength,
    copyOut: false,
    lease,
    key,
    type: viewTypeOf(view),
    length: viewLength(view),
  };
}
