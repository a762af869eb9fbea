/**
 * The direct path for the values most calls carry: a binary view, or an array or plain object
 * whose own values are primitives, views, and arrays or plain objects of primitives only
 * (`frame`, `[frame, 3]`, `[frame, { quality: 80 }]`, `{ frame, meta: { seq, ts } }`).
 * It writes the flat form (flat-envelope.ts) in one pass, without the general planner's maps,
 * graph copy and envelope: on the 2-vCPU reference VM that general path costs ~9 µs and
 * ~14 KB of garbage per hop for a one-frame value, most of a pool round trip's own work.
 *
 * `findDirectLeaves` only looks; it gives up (null) on anything the general path must judge:
 * deeper nesting, a small view (cloned, or copied when it aliases the arena), an
 * ArrayBuffer leaf (restored as a copy), two views over one buffer (aliasing), a view over a
 * SharedArrayBuffer that is not a pin this thread holds. The engine places the leaves it
 * returns (direct-offload.ts) and gives up too when one does not fit right now.
 */

import { kLeafAlignBytes } from './layout.js';
import { isSharedArrayBuffer, viewLength, viewTypeOf, type LeafType } from './leaf-types.js';
import { leaseThrough, type UnitLease } from './lifetimes.js';

/** More own values than this and the general path's one walk is as cheap. */
export const kMaxDirectEntries = 32;

/** One view of a direct value, as a byte range of its buffer. */
export interface DirectLeaf {
  /** Where it sits: an index or key of the container; null for the value itself. */
  readonly key: string | number | null;
  readonly type: LeafType;
  readonly length: number;
  readonly buffer: ArrayBufferLike;
  readonly start: number;
  readonly end: number;
  /** For a view over a pin this thread holds: that pin's lease; else null (copied). */
  readonly lease: UnitLease | null;
}

export interface DirectValue {
  /** The value itself, an array, or a plain object. */
  readonly shape: 'view' | 'array' | 'object';
  readonly leaves: readonly DirectLeaf[];
}

/** The leaves of a direct value, or null when the general path must take it. */
export function findDirectLeaves(value: unknown, minBytes: number): DirectValue | null {
  if (typeof value !== 'object' || value === null) return { shape: 'view', leaves: [] };
  if (ArrayBuffer.isView(value)) {
    const leaf = directLeaf(value, null, minBytes);
    return leaf === null ? null : { shape: 'view', leaves: [leaf] };
  }
  const leaves: DirectLeaf[] = [];
  if (Array.isArray(value)) {
    // Named properties (which cloning keeps) and holes: the general path keeps them.
    if (
      Object.getPrototypeOf(value) !== Array.prototype ||
      value.length > kMaxDirectEntries ||
      Object.keys(value).length !== value.length
    ) {
      return null;
    }
    for (let index = 0; index < value.length; index++) {
      // A hole and a named property could balance the count above: holes are checked too.
      if (!(index in value) || !addEntry(value[index], index, minBytes, leaves)) return null;
    }
    return { shape: 'array', leaves };
  }
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return null;
  const keys = Object.keys(value);
  if (keys.length > kMaxDirectEntries) return null;
  const record = value as Record<string, unknown>;
  for (const key of keys) {
    // Assigning '__proto__' on either side would set a prototype, not a property.
    if (key === '__proto__' || !addEntry(record[key], key, minBytes, leaves)) return null;
  }
  return { shape: 'object', leaves };
}

/** False when `entry` needs the general path; a view is appended to `leaves`. */
function addEntry(
  entry: unknown,
  key: string | number,
  minBytes: number,
  leaves: DirectLeaf[],
): boolean {
  if (typeof entry === 'function') return false; // the general path names it in its error
  if (typeof entry !== 'object' || entry === null) return true;
  if (!ArrayBuffer.isView(entry)) return holdsPrimitivesOnly(entry);
  const leaf = directLeaf(entry, key, minBytes);
  if (leaf === null) return false;
  for (const other of leaves) if (other.buffer === leaf.buffer) return false;
  leaves.push(leaf);
  return true;
}

/**
 * True for a plain array or object whose own values are all primitives (a call's options, an
 * item's metadata): it crosses as it is, cloned by the transport, with nothing to offload.
 */
function holdsPrimitivesOnly(container: object): boolean {
  const prototype: unknown = Object.getPrototypeOf(container);
  let values: unknown[];
  if (Array.isArray(container)) {
    if (prototype !== Array.prototype || container.length > kMaxDirectEntries) return false;
    values = container;
    for (let index = 0; index < values.length; index++) if (!(index in values)) return false;
  } else {
    if (prototype !== Object.prototype && prototype !== null) return false;
    values = Object.values(container);
    if (values.length > kMaxDirectEntries) return false;
  }
  for (const value of values) {
    if (typeof value === 'function' || (typeof value === 'object' && value !== null)) return false;
  }
  return true;
}

function directLeaf(
  view: ArrayBufferView,
  key: string | number | null,
  minBytes: number,
): DirectLeaf | null {
  if (view.byteLength < minBytes) return null;
  const buffer = view.buffer;
  let lease: UnitLease | null = null;
  if (isSharedArrayBuffer(buffer)) {
    lease = leaseThrough(buffer);
    if (lease === null) return null;
  }
  const start = view.byteOffset;
  const type = viewTypeOf(view);
  return {
    key,
    type,
    length: viewLength(view),
    buffer,
    start,
    end: start + view.byteLength,
    lease,
  };
}

/** Where a copied leaf's region starts in its source: 64-aligned, so element alignment holds. */
export function alignedStart(start: number): number {
  return Math.floor(start / kLeafAlignBytes) * kLeafAlignBytes;
}
