/**
 * Rebuilding a value from its envelope on the receiving thread: markers become views over the
 * arena (no copy), or copies for groups holding an ArrayBuffer leaf. The envelope is a fresh
 * clone on this side, so its containers are patched in place.
 */

import { invalidArgument } from '../../errors.js';
import type { ArenaEnvelope, LeafMarker } from './envelope.js';
import type { FlatEnvelope } from './flat-envelope.js';
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
 * The value a flat form stands for (flat-envelope.ts), patched in place: each marker's place
 * gets its view (or copy), without building the markers or an envelope first.
 */
export function restoreFlat(flat: FlatEnvelope, target: RestoreTarget): Restored {
  const [value, rootLeaf, keys, keyLeaves, , flatGroups, numbers] = flat;
  const groups = readGroups(flatGroups, target.dataBytes);
  const pin = groups.some((group) => !group.copyOut) ? target.makePin() : null;
  const copies = new Map<number, ArrayBuffer>();
  const restored: unknown[] = [];
  for (let index = 0; index + 3 < numbers.length; index += 4) {
    const type = kLeafTypes[numbers[index] ?? -1];
    if (type === undefined) throw invalidArgument('envelope.leaves', 'known leaf types', numbers);
    const marker: LeafMarker = {
      type,
      group: numbers[index + 1] ?? -1,
      byteOffset: numbers[index + 2] ?? 0,
      length: numbers[index + 3] ?? 0,
    };
    restored.push(restoreLeaf(marker, groups, target, pin, copies));
  }
  if (rootLeaf >= 0) return { value: restored[rootLeaf], pin };
  const container = value as Record<string | number, unknown>;
  keys.forEach((key, index) => {
    container[key] = restored[keyLeaves[index] ?? -1];
  });
  return { value, pin };
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
  let copy = copies.get(marker.group);
  if (copy === undefined) {
    // An ArrayBuffer cannot alias shared memory: the group comes back as one owned copy.
    copy = new ArrayBuffer(group.byteLength);
    const source = target.dataOffsetBytes + group.dataOffsetBytes;
    copyBytes(new Uint8Array(copy), new Uint8Array(target.buffer, source, group.byteLength));
    copies.set(marker.group, copy);
  }
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
