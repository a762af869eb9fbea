/**
 * Rebuilding a value from its envelope (envelope.ts) on the receiving thread, straight from the
 * numbers: each leaf becomes a view over the arena (no copy), or a copy for a group holding an
 * ArrayBuffer leaf, and goes where `places` says. The envelope is a fresh clone on this side,
 * so its containers are patched in place.
 */

import { invalidArgument } from '../../errors.js';
import {
  type ArenaEnvelope,
  kGroupCountAt,
  kHeaderEntries,
  kOwnKeys,
  kPlaces,
  kRootLeaf,
  kShapeAt,
  leafCountAt,
} from './envelope.js';
import { copyBytes } from '../copy-bytes.js';
import { kLeafAlignBytes } from './layout.js';
import { kLeafElementBytes, kLeafTypes, makeView, NodeBuffer } from './leaf-types.js';

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

/** The value an envelope stands for, its leaves in place. Throws on a malformed envelope. */
export function restoreValue(envelope: ArenaEnvelope, target: RestoreTarget): Restored {
  const value = envelope[0];
  const places = envelope[1];
  const shape = checkShape(envelope);
  const leaves = new LeafReader(envelope[2], target);
  const { pin } = leaves;
  if (shape === kRootLeaf) return { value: leaves.at(0), pin };
  if (shape === kPlaces) return { value: putInPlaces(value, places, leaves), pin };
  const container = value as Record<string | number, unknown>;
  for (let leaf = 0; leaf < leaves.count; leaf++) {
    const key = places[leaf];
    // Never '__proto__' here: assigned, it would set a prototype (the finders never emit it).
    if (!isKey(key) || key === '__proto__') {
      throw invalidArgument('envelope.places', 'own keys', key);
    }
    container[key] = leaves.at(leaf);
  }
  return { value, pin };
}

/** The envelope's shape, checked against its places (the counts were checked before). */
function checkShape(envelope: ArenaEnvelope): number {
  const value = envelope[0];
  const places = envelope[1];
  const numbers = envelope[2];
  const leafCount = numbers[leafCountAt(numbers)]!;
  const shape = numbers[kShapeAt]!;
  const fits =
    shape === kRootLeaf
      ? leafCount === 1
      : shape === kOwnKeys
        ? places.length === leafCount && (leafCount === 0 || isObject(value))
        : shape === kPlaces && places.length % 3 === 0;
  if (!fits) throw invalidArgument('envelope', 'an arena envelope', numbers.length);
  return shape;
}

/**
 * The leaves of one envelope, each made on demand: a view over the pin (made once, and only if
 * some group is restored as views), or a view over the one owned copy of its copy-out group.
 */
class LeafReader {
  readonly #numbers: readonly number[];
  readonly #target: RestoreTarget;
  readonly #groupCount: number;
  readonly #leavesAt: number;
  readonly count: number;
  /** The buffer every view of the unit uses; null when nothing aliases the arena. */
  readonly pin: SharedArrayBuffer | null;
  #copies: Map<number, ArrayBuffer> | undefined;

  constructor(numbers: readonly number[], target: RestoreTarget) {
    this.#numbers = numbers;
    this.#target = target;
    this.#groupCount = numbers[kGroupCountAt]!;
    this.#leavesAt = leafCountAt(numbers) + 1;
    this.count = numbers[this.#leavesAt - 1]!;
    this.pin = checkGroups(numbers, this.#groupCount, target) ? target.makePin() : null;
  }

  /** Leaf `leaf` of the envelope, restored. */
  at(leaf: number): unknown {
    const numbers = this.#numbers;
    const at = this.#leavesAt + 4 * leaf;
    const code = numbers[at]!;
    const type = kLeafTypes[code];
    const group = numbers[at + 1]!;
    const byteOffset = numbers[at + 2]!;
    const length = numbers[at + 3]!;
    const groupAt = kHeaderEntries + 3 * group;
    // Inside its group, on an element boundary (a group starts 64-aligned): a forged or
    // corrupted leaf is refused here rather than by a view constructor's RangeError.
    if (
      type === undefined ||
      !(isIndex(group) && group < this.#groupCount) ||
      !(isIndex(byteOffset) && isIndex(length)) ||
      byteOffset % kLeafElementBytes[code]! !== 0 ||
      byteOffset + length * kLeafElementBytes[code]! > numbers[groupAt + 1]!
    ) {
      throw invalidArgument('envelope.leaves', 'leaves inside their groups', numbers[at]);
    }
    const target = this.#target;
    if (numbers[groupAt + 2] !== 1 && this.pin !== null) {
      const byteOffsetInPin = target.dataOffsetBytes + numbers[groupAt]! + byteOffset;
      return makeView(type, this.pin, byteOffsetInPin, length);
    }
    this.#copies ??= new Map();
    const copy = copyOfGroup(target, numbers[groupAt]!, numbers[groupAt + 1]!, group, this.#copies);
    return type === 'ArrayBuffer' ? copy : makeView(type, copy, byteOffset, length);
  }
}

/** Checks every group lies inside the arena; true when one is restored as views (a pin). */
function checkGroups(
  numbers: readonly number[],
  groupCount: number,
  target: RestoreTarget,
): boolean {
  let needsPin = false;
  for (let group = 0; group < groupCount; group++) {
    const at = kHeaderEntries + 3 * group;
    const dataOffsetBytes = numbers[at];
    const byteLength = numbers[at + 1];
    if (!(
      isIndex(dataOffsetBytes) &&
      dataOffsetBytes % kLeafAlignBytes === 0 &&
      isIndex(byteLength) &&
      dataOffsetBytes + byteLength <= target.dataBytes
    )) {
      throw invalidArgument('envelope.groups', 'regions inside the arena', [
        dataOffsetBytes,
        byteLength,
      ]);
    }
    if (numbers[at + 2] !== 1) needsPin = true;
  }
  return needsPin;
}

/**
 * The general shape (`kPlaces`): each (container, key, leaf) triple puts a leaf (restored once,
 * whatever the number of its places) or an inline Buffer where it was; Maps and Sets holding a
 * marker are rebuilt in their order. Returns the root.
 */
function putInPlaces(value: unknown, places: readonly unknown[], reader: LeafReader): unknown {
  const leafCount = reader.count;
  const leaves = new Array<unknown>(leafCount);
  const restoredOf = new Map<unknown, unknown>(); // inline bytes, and markers, to their value
  const collections = new Set<Map<unknown, unknown> | Set<unknown>>();
  let root = value;
  for (let index = 0; index + 2 < places.length; index += 3) {
    const container = places[index];
    const key = places[index + 1];
    const ref = places[index + 2];
    let restored: unknown;
    if (typeof ref === 'number' && Number.isInteger(ref) && ref >= 0 && ref < leafCount) {
      restored = leaves[ref] ??= reader.at(ref);
    } else if (ref instanceof Uint8Array) {
      if (!restoredOf.has(ref)) restoredOf.set(ref, asBuffer(ref));
      restored = restoredOf.get(ref);
    } else {
      throw invalidArgument('envelope.places', 'leaves of the envelope', ref);
    }
    if (container === null) {
      root = restored;
    } else if (container instanceof Map || container instanceof Set) {
      restoredOf.set(key, restored);
      collections.add(container);
    } else if (isObject(container) && isKey(key)) {
      // '__proto__' is an own property here: define it, never set a prototype.
      if (key === '__proto__') Object.defineProperty(container, key, { value: restored });
      else (container as Record<string | number, unknown>)[key] = restored;
    } else {
      throw invalidArgument('envelope.places', 'containers and their keys', key);
    }
  }
  for (const collection of collections) rebuildCollection(collection, restoredOf);
  return root;
}

/** A non-negative integer (an offset, a length, an index): not NaN, not a string, not 1.5. */
function isIndex(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 0;
}

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}

function isKey(key: unknown): key is string | number {
  return typeof key === 'string' || typeof key === 'number';
}

/** A Buffer over bytes that crossed inline (cloning made them a Uint8Array). */
function asBuffer(bytes: Uint8Array): unknown {
  if (NodeBuffer === undefined) return bytes;
  return NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
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

function rebuildCollection(
  collection: Map<unknown, unknown> | Set<unknown>,
  restoredOf: Map<unknown, unknown>,
): void {
  const swap = (item: unknown): unknown => (restoredOf.has(item) ? restoredOf.get(item) : item);
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
