/**
 * Values of any shape, the general finder's side of an offload (simple-value.ts takes the
 * values most calls carry): `planLeaves` finds every binary leaf and groups the leaves by the
 * memory they share; once the groups are placed (placement.ts), `postedValue` copies the
 * containers, emptying each placed leaf's place, and lists the places (`kPlaces`, envelope.ts).
 *
 * Grouping keeps aliasing: views whose bytes overlap in one buffer are copied as one region and
 * restored as views into it, so a write through one shows through the other, as after cloning.
 * A buffer that appears itself as a leaf (an ArrayBuffer, which cannot alias shared memory) is
 * restored as a copy: the whole buffer, with its views at their original offsets.
 */

import { wireArray } from '../../values/wire-array.js';
import { kNoPlaces, kOwnKeys, kPlaces, kRootLeaf } from './envelope.js';
import { type CopiedGraph, copyGraph, forEachLeafObject } from './graph.js';
import {
  copyView,
  isArrayBuffer,
  isSharedArrayBuffer,
  type LeafType,
  viewLength,
  viewTypeOf,
} from './leaf-types.js';
import { isArenaBacked, leaseThrough } from './lifetimes.js';
import { alignedStart, type LeafGroup } from './placement.js';

/** One binary leaf found in the value, as a byte range of its backing buffer. */
export interface LeafUse {
  readonly leaf: object;
  readonly type: LeafType;
  readonly start: number;
  readonly end: number;
  /** Elements for typed arrays, bytes for DataView, Buffer and ArrayBuffer. */
  readonly length: number;
}

/** Leaves that cross as one region (one leaf, or views that overlap, or a whole ArrayBuffer). */
export interface GeneralGroup extends LeafGroup {
  readonly uses: readonly LeafUse[];
  /** Its buffer is arena memory: if it does not cross by reference, its views must be copied. */
  readonly arenaBacked: boolean;
}

/** A leaf that stays in the value but still needs care (it must not cross as it is). */
export interface InlineUse {
  readonly use: LeafUse;
  /** An arena view: copied, never shared by reference below `minBytes`. */
  readonly arenaBacked: boolean;
  /** The leaf alone in its buffer's bytes: copying just them beats cloning the whole buffer. */
  readonly alone: boolean;
}

export interface LeafPlan {
  /** Groups to place, in the order they are placed. */
  readonly groups: GeneralGroup[];
  readonly inline: InlineUse[];
}

interface BufferUses {
  readonly uses: LeafUse[];
  whole: boolean;
  readonly arenaBacked: boolean;
}

/**
 * Finds every binary leaf and decides which go to the arena: a leaf of at least `minBytes`,
 * with the leaves overlapping it. Views of a caller's SharedArrayBuffer are left alone: cloning
 * shares them without a copy, which no arena can beat. So are leaves over a buffer in `kept`
 * (moved ones: the transport transfers them with the value).
 */
export function planLeaves(
  value: unknown,
  minBytes: number,
  kept?: ReadonlySet<ArrayBufferLike>,
): LeafPlan {
  const byBuffer = new Map<ArrayBufferLike, BufferUses>();
  forEachLeafObject(value, (leaf) => {
    const found = describeLeaf(leaf);
    if (found === null) return;
    const [buffer, use] = found;
    if (kept?.has(buffer)) return;
    const arenaBacked = isSharedArrayBuffer(buffer) && isArenaBacked(buffer);
    if (isSharedArrayBuffer(buffer) && !arenaBacked) return;
    let entry = byBuffer.get(buffer);
    if (entry === undefined)
      byBuffer.set(buffer, (entry = { uses: [], whole: false, arenaBacked }));
    entry.uses.push(use);
    if (use.type === 'ArrayBuffer') entry.whole = true;
  });
  const plan: LeafPlan = { groups: [], inline: [] };
  for (const [buffer, entry] of byBuffer) planBuffer(buffer, entry, minBytes, plan);
  return plan;
}

function describeLeaf(leaf: object): [ArrayBufferLike, LeafUse] | null {
  if (ArrayBuffer.isView(leaf)) {
    const start = leaf.byteOffset;
    const type = viewTypeOf(leaf);
    const use = { leaf, type, start, end: start + leaf.byteLength, length: viewLength(leaf) };
    return [leaf.buffer, use];
  }
  if (isArrayBuffer(leaf)) {
    const bytes = leaf.byteLength;
    return [leaf, { leaf, type: 'ArrayBuffer', start: 0, end: bytes, length: bytes }];
  }
  return null;
}

function planBuffer(
  buffer: ArrayBufferLike,
  entry: BufferUses,
  minBytes: number,
  plan: LeafPlan,
): void {
  const isBig = (use: LeafUse): boolean => use.end - use.start >= minBytes;
  const { uses, arenaBacked } = entry;
  if (entry.whole) {
    if (uses.some(isBig))
      plan.groups.push(group(buffer, 0, buffer.byteLength, true, uses, arenaBacked));
    else addInline(plan, uses, arenaBacked, false);
    return;
  }
  uses.sort((left, right) => left.start - right.start);
  let first = 0;
  while (first < uses.length) {
    let last = first;
    let end = uses[first]!.end;
    while (last + 1 < uses.length && uses[last + 1]!.start < end) {
      last++;
      end = Math.max(end, uses[last]!.end);
    }
    const overlapping = uses.slice(first, last + 1);
    if (overlapping.some(isBig)) {
      const start = alignedStart(overlapping[0]!.start);
      plan.groups.push(group(buffer, start, end, false, overlapping, arenaBacked));
    } else {
      const alone = uses.length === 1 && buffer.byteLength > end - uses[0]!.start;
      addInline(plan, overlapping, arenaBacked, alone);
    }
    first = last + 1;
  }
}

function group(
  buffer: ArrayBufferLike,
  start: number,
  end: number,
  copyOut: boolean,
  uses: readonly LeafUse[],
  arenaBacked: boolean,
): GeneralGroup {
  // A view of a pin this thread holds may cross by reference (placement.ts decides).
  const lease = arenaBacked && !copyOut ? leaseThrough(buffer) : null;
  return { buffer, start, end, copyOut, lease, uses, arenaBacked };
}

function addInline(
  plan: LeafPlan,
  uses: readonly LeafUse[],
  arenaBacked: boolean,
  alone: boolean,
): void {
  for (const use of uses) {
    if (arenaBacked || use.type === 'Buffer') plan.inline.push({ use, arenaBacked, alone });
  }
}

/** A group that could not be placed: its leaves stay in the value (they cross by copying). */
export function demoteGroup(plan: LeafPlan, group: GeneralGroup): void {
  addInline(plan, group.uses, group.arenaBacked, false);
}

/** The value to post and where its leaves go back (envelope.ts). */
export interface PostedValue {
  readonly value: unknown;
  /** `kPlaces`, or a compact shape when the leaves' places allow it. */
  readonly shape: number;
  readonly places: readonly unknown[];
}

/**
 * The value to post once `placed` have their places: its containers copied, the leaves of the
 * placed groups numbered in order (the envelope's leaves, written in the same order) and their
 * places emptied, inline leaves copied or carried as bytes. Getters run here, a second time.
 */
export function postedValue(
  value: unknown,
  placed: readonly GeneralGroup[],
  inline: readonly InlineUse[],
): PostedValue {
  const replacements = new Map<object, unknown>();
  // What a marker stands for: a leaf of the envelope, or the bytes of a Buffer kept inline.
  const refs = new Map<unknown, number | Uint8Array>();
  let leafCount = 0;
  for (const { uses } of placed) {
    for (const use of uses) {
      const marker = {};
      replacements.set(use.leaf, marker);
      refs.set(marker, leafCount++);
    }
  }
  for (const item of inline) replacements.set(item.use.leaf, inlineReplacement(item, refs));
  if (replacements.size === 0) return { value, shape: kOwnKeys, places: kNoPlaces };
  const graph = copyGraph(
    value,
    (found) => (replacements.has(found) ? replacements.get(found) : found),
    (candidate) => refs.has(candidate),
  );
  if (refs.has(graph.root)) {
    const ref = refs.get(graph.root);
    // The value is a leaf: nothing else can be in it.
    if (ref === 0 && leafCount === 1) return { value: null, shape: kRootLeaf, places: kNoPlaces };
    return { value: null, shape: kPlaces, places: [null, null, ref] };
  }
  const places = placesIn(graph, refs);
  if (places.length === 0) return { value: graph.root, shape: kOwnKeys, places: kNoPlaces };
  const keys = ownKeys(graph.root, places, leafCount);
  return keys === null
    ? { value: graph.root, shape: kPlaces, places }
    : { value: graph.root, shape: kOwnKeys, places: keys };
}

/**
 * The (container, key, leaf) triples of the markers in a copied graph. A marker in an array or
 * an object leaves its place (null there); one in a Map or a Set stays, named by the triple.
 */
function placesIn(graph: CopiedGraph, refs: Map<unknown, number | Uint8Array>): unknown[] {
  const places: unknown[] = [];
  const { slots } = graph;
  for (let index = 0; index + 1 < slots.length; index += 2) {
    const container = slots[index] as Record<string | number, unknown>;
    const key = slots[index + 1] as string | number;
    places.push(container, key, refs.get(container[key]));
    container[key] = null; // an own property already ('__proto__' too): a plain write
  }
  for (const collection of graph.rebuild) {
    const members = collection instanceof Map ? [...collection].flat() : [...collection];
    for (const member of members) {
      if (refs.has(member)) places.push(collection, member, refs.get(member));
    }
  }
  return places;
}

/**
 * The places as own keys of the root (`kOwnKeys`, which the fast lane encodes compactly), when
 * each leaf sits exactly once in an own property of the root; else null.
 */
function ownKeys(root: unknown, places: readonly unknown[], leafCount: number): unknown[] | null {
  if (places.length !== 3 * leafCount || root instanceof Map || root instanceof Set) return null;
  const keys = wireArray<unknown>(leafCount);
  for (let index = 0; index < places.length; index += 3) {
    const key = places[index + 1];
    const ref = places[index + 2];
    if (places[index] !== root || key === '__proto__' || typeof ref !== 'number') return null;
    if (keys[ref] !== undefined) return null;
    keys[ref] = key;
  }
  return keys;
}

function inlineReplacement(
  { use, arenaBacked, alone }: InlineUse,
  refs: Map<unknown, number | Uint8Array>,
): unknown {
  const view = use.leaf as ArrayBufferView;
  if (use.type !== 'Buffer') return copyView(view);
  // A Buffer clones as a plain Uint8Array: a marker brings it back a Buffer. Its bytes are
  // copied when they alias the arena, or when they are a small part of a larger buffer (Node's
  // 8 KiB pool): cloning would copy the whole pool slab.
  const bytes = arenaBacked || alone ? new Uint8Array(copyView(view).buffer) : (view as Uint8Array);
  const marker = {};
  refs.set(marker, bytes);
  return marker;
}
