/**
 * The offload side's two passes over a value. `planOffload` finds the binary leaves and groups
 * them by the memory they share; `buildEnvelope` copies the containers, putting a marker where
 * each offloaded leaf was.
 *
 * Grouping keeps aliasing: views whose bytes overlap in one buffer are copied as one region and
 * restored as views into it, so a write through one shows through the other, as after cloning.
 * A buffer that appears itself as a leaf (an ArrayBuffer, which cannot alias shared memory) is
 * restored as a copy: the whole buffer, with its views at their original offsets.
 */

import {
  kEnvelopeKind,
  type ArenaEnvelope,
  type ArenaTicket,
  type HoldTicket,
  type LeafMarker,
} from './envelope.js';
import { copyGraph, forEachLeafObject } from './graph.js';
import { kLeafAlignBytes } from './layout.js';
import {
  copyView,
  isArrayBuffer,
  isSharedArrayBuffer,
  type LeafType,
  viewLength,
  viewTypeOf,
} from './leaf-types.js';

/** One binary leaf found in the value, as a byte range of its backing buffer. */
export interface LeafUse {
  readonly leaf: object;
  readonly type: LeafType;
  readonly start: number;
  readonly end: number;
  readonly length: number;
}

/** Leaves copied together into one region. */
export interface LeafGroup {
  readonly source: ArrayBufferLike;
  /** Byte range of `source` to copy; `start` is 64-aligned so element alignment is kept. */
  readonly start: number;
  readonly end: number;
  /** Restore as an ArrayBuffer copy (an ArrayBuffer leaf is in the group). */
  readonly copyOut: boolean;
  readonly uses: readonly LeafUse[];
  readonly arenaBacked: boolean;
}

/** A leaf staying inline that still needs care (an arena view must not cross by reference). */
export interface InlineUse {
  readonly use: LeafUse;
  readonly arenaBacked: boolean;
  /** The leaf alone in its buffer's bytes: copying just them beats cloning the whole buffer. */
  readonly alone: boolean;
}

export interface OffloadPlan {
  readonly groups: LeafGroup[];
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
 * shares them without a copy, which no arena can beat.
 */
export function planOffload(
  value: unknown,
  minBytes: number,
  isArenaBacked: (buffer: ArrayBufferLike) => boolean,
): OffloadPlan {
  const byBuffer = new Map<ArrayBufferLike, BufferUses>();
  forEachLeafObject(value, (leaf) => {
    const found = describeLeaf(leaf);
    if (found === null) return;
    const [buffer, use] = found;
    const arenaBacked = isSharedArrayBuffer(buffer) && isArenaBacked(buffer);
    if (isSharedArrayBuffer(buffer) && !arenaBacked) return;
    let entry = byBuffer.get(buffer);
    if (entry === undefined)
      byBuffer.set(buffer, (entry = { uses: [], whole: false, arenaBacked }));
    entry.uses.push(use);
    if (use.type === 'ArrayBuffer') entry.whole = true;
  });
  const plan: OffloadPlan = { groups: [], inline: [] };
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
  plan: OffloadPlan,
): void {
  const isBig = (use: LeafUse): boolean => use.end - use.start >= minBytes;
  const { uses, arenaBacked } = entry;
  if (entry.whole) {
    if (uses.some(isBig)) {
      plan.groups.push({
        source: buffer,
        start: 0,
        end: buffer.byteLength,
        copyOut: true,
        uses,
        arenaBacked,
      });
    } else {
      addInline(plan, uses, arenaBacked, false);
    }
    return;
  }
  uses.sort((left, right) => left.start - right.start);
  let first = 0;
  while (first < uses.length) {
    let last = first;
    let end = uses[first]?.end ?? 0;
    while (last + 1 < uses.length && (uses[last + 1]?.start ?? 0) < end) {
      last++;
      end = Math.max(end, uses[last]?.end ?? 0);
    }
    const overlapping = uses.slice(first, last + 1);
    if (overlapping.some(isBig)) {
      const start = Math.floor((overlapping[0]?.start ?? 0) / kLeafAlignBytes) * kLeafAlignBytes;
      plan.groups.push({
        source: buffer,
        start,
        end,
        copyOut: false,
        uses: overlapping,
        arenaBacked,
      });
    } else {
      const alone = uses.length === 1 && buffer.byteLength > end - (uses[0]?.start ?? 0);
      addInline(plan, overlapping, arenaBacked, alone);
    }
    first = last + 1;
  }
}

function addInline(
  plan: OffloadPlan,
  uses: readonly LeafUse[],
  arenaBacked: boolean,
  alone: boolean,
): void {
  for (const use of uses) {
    if (arenaBacked || use.type === 'Buffer') plan.inline.push({ use, arenaBacked, alone });
  }
}

/** Moves a group that could not be placed back inline. */
export function demoteGroup(plan: OffloadPlan, group: LeafGroup): void {
  addInline(plan, group.uses, group.arenaBacked, false);
}

/** A group placed in the arena: where its bytes were copied. */
export interface PlacedGroup {
  readonly group: LeafGroup;
  readonly dataOffsetBytes: number;
}

/** Builds the envelope once every group is placed (or demoted) and its bytes copied. */
export function buildEnvelope<T>(
  value: T,
  placed: readonly PlacedGroup[],
  inline: readonly InlineUse[],
  unit: ArenaTicket | null,
  holds: readonly HoldTicket[] = [],
): ArenaEnvelope<T> {
  const replacements = new Map<object, unknown>();
  const leaves: LeafMarker[] = [];
  const groups: number[] = [];
  placed.forEach(({ group, dataOffsetBytes }, index) => {
    groups.push(dataOffsetBytes, group.end - group.start, group.copyOut ? 1 : 0);
    for (const use of group.uses) {
      const byteOffset = group.copyOut ? use.start : use.start - group.start;
      const marker: LeafMarker = { type: use.type, group: index, byteOffset, length: use.length };
      leaves.push(marker);
      replacements.set(use.leaf, marker);
    }
  });
  for (const item of inline) replacements.set(item.use.leaf, inlineReplacement(item, leaves));
  if (replacements.size === 0) {
    return { kind: kEnvelopeKind, value, unit, holds, groups, leaves, slots: [], rebuild: [] };
  }
  const markers = new Set<unknown>(leaves);
  const graph = copyGraph(
    value,
    (leaf) => (replacements.has(leaf) ? replacements.get(leaf) : leaf),
    (candidate) => markers.has(candidate),
  );
  return {
    kind: kEnvelopeKind,
    value: graph.root,
    unit,
    holds,
    groups,
    leaves,
    slots: graph.slots,
    rebuild: graph.rebuild,
  };
}

function inlineReplacement({ use, arenaBacked, alone }: InlineUse, leaves: LeafMarker[]): unknown {
  const view = use.leaf as ArrayBufferView;
  if (use.type !== 'Buffer') return copyView(view);
  // A Buffer clones as a plain Uint8Array: a marker brings it back a Buffer. Its bytes are
  // copied when they alias the arena, or when they are a small part of a larger buffer (Node's
  // 8 KiB pool): cloning would copy the whole pool slab.
  const bytes = arenaBacked || alone ? new Uint8Array(copyView(view).buffer) : (view as Uint8Array);
  const marker: LeafMarker = {
    type: 'Buffer',
    group: -1,
    byteOffset: 0,
    length: use.length,
    bytes,
  };
  leaves.push(marker);
  return marker;
}
