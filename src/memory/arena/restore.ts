/**
 * Rebuilding a value from its envelope on the receiving thread: markers become views over the
 * arena (no copy), or copies for groups holding an ArrayBuffer leaf. The envelope is a fresh
 * clone on this side, so its containers are patched in place.
 */

import { invalidArgument } from '../../errors.js';
import type { ArenaEnvelope, LeafMarker } from './envelope.js';
import { type FlatEnvelope, kGroupCountAt, kRootLeafAt, leafCountAt } from './flat-envelope.js';
import { copyBytes, kLeafTypes, makeView, NodeBuffer } from './leaf-types.js';

export interface RestoreTarget {
  /** The arena's buffer as this thread sees it (source of copy-out groups). */
  readonly buffer: SharedArrayBuffer;
  readonly dataOffsetBytes: number;
  readonly dataBytes: number;
  /** Called once, only if some leaf is restored as a view: the buffer those views use. */
  readonly makePin: () => SharedArrayBuffer;
}

export interface Restored {
  readonly value: unknown;
  /** The buffer every view of the unit uses; null when nothing aliases the arena. */
  readonly pin: SharedArrayBuffer | null;
}

export function restoreEnvelope(envelope: ArenaEnvelope, target: RestoreTarget): Restored {
  const groups = readGroups(envelope.groups, target.dataBytes);
  const pin = groups.some((group) => !group.copyOut) ? target.makePin() : null;
  const copies = new Map<number, ArrayBuffer>();
  const restored = new Map<unknown, unknown>();
  for (const marker of envelope.leaves) {
    restored.set(marker, restoreLeaf(marker, groups, target, pin, copies));
  }
  for (let index = 0; index + 1 < envelope.slots.length; index += 2) {
    const container = envelope.slots[index] as Record<string | number, unknown>;
    const key = envelope.slots[index + 1] as string | number;
    if (restored.has(container[key])) container[key] = restored.get(container[key]);
  }
  for (const collection of envelope.rebuild) rebuildCollection(collection, restored);
  const root = restored.has(envelope.value) ? restored.get(envelope.value) : envelope.value;
  return { value: root, pin };
}

/**
 * The value a flat form stands for (flat-envelope.ts), patched in place: each leaf's place
 * gets its view (or copy), straight from the numbers, without markers or an envelope.
 */
export function restoreFlat(flat: FlatEnvelope, target: RestoreTarget): Restored {
  const [value, keys, numbers] = flat;
  const groupCount = numbers[kGroupCountAt] ?? 0;
  const leavesAt = leafCountAt(numbers);
  const leafCount = numbers[leavesAt] ?? 0;
  const rootLeaf = numbers[kRootLeafAt] ?? -1;
  if (
    !(leavesAt + 1 + 4 * leafCount <= numbers.length) ||
    (rootLeaf === 0 ? leafCount !== 1 : rootLeaf !== -1 || keys.length !== leafCount)
  ) {
    throw invalidArgument('envelope', 'a flat arena value', numbers.length);
  }
  let needsPin = false;
  for (let group = 0; group < groupCount; group++) {
    const at = kGroupCountAt + 1 + 3 * group;
    const dataOffsetBytes = numbers[at] ?? -1;
    const byteLength = numbers[at + 1] ?? -1;
    if (!(
      dataOffsetBytes >= 0 &&
      byteLength >= 0 &&
      dataOffsetBytes + byteLength <= target.dataBytes
    )) {
      throw invalidArgument('envelope.groups', 'regions inside the arena', [
        dataOffsetBytes,
        byteLength,
      ]);
    }
    if (numbers[at + 2] !== 1) needsPin = true;
  }
  const pin = needsPin ? target.makePin() : null;
  let copies: Map<number, ArrayBuffer> | undefined;
  const leafAt = (leaf: number): unknown => {
    const at = leavesAt + 1 + 4 * leaf;
    const type = kLeafTypes[numbers[at] ?? -1];
    const group = numbers[at + 1] ?? -1;
    if (type === undefined || !(group >= 0 && group < groupCount)) {
      throw invalidArgument('envelope.leaves', 'known leaf types of known groups', numbers[at]);
    }
    const groupAt = kGroupCountAt + 1 + 3 * group;
    const byteOffset = numbers[at + 2] ?? 0;
    const length = numbers[at + 3] ?? 0;
    if (numbers[groupAt + 2] !== 1 && pin !== null) {
      return makeView(type, pin, target.dataOffsetBytes + numbers[groupAt]! + byteOffset, length);
    }
    copies ??= new Map();
    const copy = copyOfGroup(target, numbers[groupAt]!, numbers[groupAt + 1]!, group, copies);
    return type === 'ArrayBuffer' ? copy : makeView(type, copy, byteOffset, length);
  };
  if (rootLeaf === 0) return { value: leafAt(0), pin };
  const container = value as Record<string | number, unknown>;
  for (let leaf = 0; leaf < leafCount; leaf++) container[keys[leaf]!] = leafAt(leaf);
  return { value, pin };
}

/** A copy-out group as one owned ArrayBuffer, made once per group (its leaves alias it). */
function copyOfGroup(
  target: RestoreTarget,
  dataOffsetBytes: number,
  byteLength: number,
  group: number,
  copies: Map<number, ArrayBuffer>,
): ArrayBuffer {
  let copy = copies.get(group);
  if (copy === undefined) {
    // An ArrayBuffer cannot alias shared memory: the group comes back as one owned copy.
    copy = new ArrayBuffer(byteLength);
    const source = target.dataOffsetBytes + dataOffsetBytes;
    copyBytes(new Uint8Array(copy), new Uint8Array(target.buffer, source, byteLength));
    copies.set(group, copy);
  }
  return copy;
}

interface GroupView {
  readonly dataOffsetBytes: number;
  readonly byteLength: number;
  readonly copyOut: boolean;
}

function readGroups(flat: readonly number[], dataBytes: number): GroupView[] {
  const groups: GroupView[] = [];
  for (let index = 0; index + 2 < flat.length; index += 3) {
    const dataOffsetBytes = flat[index] ?? -1;
    const byteLength = flat[index + 1] ?? -1;
    if (!(dataOffsetBytes >= 0 && byteLength >= 0 && dataOffsetBytes + byteLength <= dataBytes)) {
      throw invalidArgument('envelope.groups', 'regions inside the arena', flat);
    }
    groups.push({ dataOffsetBytes, byteLength, copyOut: flat[index + 2] === 1 });
  }
  return groups;
}

function restoreLeaf(
  marker: LeafMarker,
  groups: readonly GroupView[],
  target: RestoreTarget,
  pin: SharedArrayBuffer | null,
  copies: Map<number, ArrayBuffer>,
): unknown {
  if (marker.group < 0) return restoreInlineBuffer(marker);
  const group = groups[marker.group];
  if (group === undefined)
    throw invalidArgument('envelope.leaves', 'markers of known groups', marker);
  if (!group.copyOut && pin !== null) {
    const byteOffset = target.dataOffsetBytes + group.dataOffsetBytes + marker.byteOffset;
    return makeView(marker.type, pin, byteOffset, marker.length);
  }
  const copy = copyOfGroup(target, group.dataOffsetBytes, group.byteLength, marker.group, copies);
  if (marker.type === 'ArrayBuffer') return copy;
  return makeView(marker.type, copy, marker.byteOffset, marker.length);
}

function restoreInlineBuffer(marker: LeafMarker): unknown {
  const bytes = marker.bytes;
  if (!(bytes instanceof Uint8Array))
    throw invalidArgument('envelope.leaves', 'inline bytes', marker);
  if (NodeBuffer === undefined) return bytes;
  return NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function rebuildCollection(
  collection: Map<unknown, unknown> | Set<unknown>,
  restored: Map<unknown, unknown>,
): void {
  const swap = (item: unknown): unknown => (restored.has(item) ? restored.get(item) : item);
  if (collection instanceof Map) {
    const entries = [...collection];
    collection.clear();
    for (const [key, entry] of entries) collection.set(swap(key), swap(entry));
  } else {
    const members = [...collection];
    collection.clear();
    for (const member of members) collection.add(swap(member));
  }
}
