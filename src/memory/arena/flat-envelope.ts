/**
 * The wire form of an arena value: three entries, numbers in one flat array, no shared
 * references. An envelope names each marker twice (in `leaves` and where it sits in `value`)
 * and each patched container twice (in `value` and in `slots`); structured cloning keeps that
 * identity, but the fast lane's compact codec does not carry shared references, and V8's
 * serializer, which does, takes ~5 µs to decode a one-frame envelope on the 2-vCPU reference
 * VM. The flat form of a simple item (a binary leaf, or a plain object or array whose own
 * properties hold the leaves) takes the codec's compact path: its two arrays are wire arrays
 * (codec/wire-array.ts), encoded without a user array's checks.
 *
 *   [ value     the value, each leaf's place set to null (null when the value is one leaf)
 *   , keys      own keys of `value` that hold a leaf, in leaf order: keys[i] gets leaf i
 *   , numbers ]
 *
 * numbers (every entry an integer; offsets may exceed 2^31, so they stay JS numbers):
 *
 *   [0]           arenaId        the arena's id: a form from another arena is refused
 *   [1]           rootLeaf       0 when the value is leaf 0 itself, else -1
 *   [2]           groupCount G   then G triples: dataOffsetBytes, byteLength, copyOut (1: restore
 *                                as an owned copy, for ArrayBuffer leaves; else a view)
 *   [3 + 3G]      leafCount L    then L quadruples: type code (index into kLeafTypes), group,
 *                                byteOffset within the group, length (elements; bytes for
 *                                DataView, Buffer, ArrayBuffer)
 *   [H = 4+3G+4L] the held part, what the receiver holds once it accepts the value:
 *                   unit triple: slot (-1: nothing copied in), generation, regionCount R,
 *                                then R pairs (firstBlock, blockCount)
 *                   holdCount K, then K holds: entry, generation, and the held unit's triple
 *                                (slot, generation, R, R pairs)
 *
 * A receiver keeps the numbers as its lease (lifetimes.ts): the held part is what it gives back
 * when the views go, and what a view forwarded by reference is checked against. The simplest
 * values are written in this form directly (direct.ts); `flattenEnvelope` turns an envelope of
 * a simple shape into it; other envelopes cross as they are. An envelope is an object, the flat
 * form an array: `isFlatEnvelope` tells them apart.
 */
import { wireArray } from '../../codec/wire-array.js';
import {
  type ArenaEnvelope,
  type ArenaTicket,
  type HoldTicket,
  type LeafMarker,
} from './envelope.js';
import { isArrayIndex } from './graph.js';
import { kLeafTypes, type LeafType } from './leaf-types.js';

export type FlatEnvelope = readonly [
  value: unknown,
  keys: readonly (string | number)[],
  numbers: readonly number[],
];

export const kArenaIdAt = 0;
export const kRootLeafAt = 1;
export const kGroupCountAt = 2;

/** Type codes of the flat form: indexes into kLeafTypes (both ends run the same build). */
const kLeafCodes = new Map(kLeafTypes.map((type, code) => [type, code]));

/** The flat form's code for a leaf type. */
export function leafCode(type: LeafType): number {
  return kLeafCodes.get(type) ?? -1;
}

/** A flat form of these parts (a wire array itself, so the codec encodes it unchecked). */
export function flatEnvelope(
  value: unknown,
  keys: readonly (string | number)[],
  numbers: readonly number[],
): FlatEnvelope {
  const flat = wireArray<unknown>(3);
  flat[0] = value;
  flat[1] = keys;
  flat[2] = numbers;
  return flat as unknown as FlatEnvelope;
}

/** The keys of a value that is one leaf, or has none: shared, never written to. */
export const kNoKeys: readonly (string | number)[] = Object.freeze(wireArray<string | number>());

export function isFlatEnvelope(value: unknown): value is FlatEnvelope {
  return Array.isArray(value) && value.length === 3 && Array.isArray(value[2]);
}

/** Where the leaf count sits. */
export function leafCountAt(numbers: readonly number[]): number {
  return kGroupCountAt + 1 + 3 * (numbers[kGroupCountAt] ?? 0);
}

/** Where the held part starts. */
export function heldAt(numbers: readonly number[]): number {
  const leavesAt = leafCountAt(numbers);
  return leavesAt + 1 + 4 * (numbers[leavesAt] ?? 0);
}

/** Where the unit triple after `at` (slot, generation, R, R pairs) ends. */
export function afterUnit(numbers: readonly number[], at: number): number {
  return at + 3 + 2 * (numbers[at + 2] ?? 0);
}

/** Appends a unit triple for `ticket` (or for no unit). */
export function pushUnit(numbers: number[], ticket: ArenaTicket | null): void {
  if (ticket === null || ticket.slot < 0) {
    numbers.push(-1, 0, 0);
    return;
  }
  numbers.push(ticket.slot, ticket.generation, ticket.regions.length >> 1);
  for (const region of ticket.regions) numbers.push(region);
}

/** Appends holdCount and the holds. */
export function pushHolds(numbers: number[], holds: readonly HoldTicket[]): void {
  numbers.push(holds.length);
  for (const { entry, generation, unit } of holds) {
    numbers.push(entry, generation);
    pushUnit(numbers, unit);
  }
}

/** The unit triple at `at` as a ticket, or null for "no unit". */
export function ticketAt(
  numbers: readonly number[],
  at: number,
  arenaId: number,
): ArenaTicket | null {
  const slot = numbers[at] ?? -1;
  if (slot < 0) return null;
  const regions = numbers.slice(at + 3, afterUnit(numbers, at));
  return { arenaId, slot, generation: numbers[at + 1] ?? 0, regions };
}

/** The held part at `at` as tickets: what a general-path caller (a discard) works with. */
export function claimAt(
  numbers: readonly number[],
  at: number,
): { unit: ArenaTicket | null; holds: HoldTicket[] } {
  const arenaId = numbers[kArenaIdAt] ?? 0;
  const unit = ticketAt(numbers, at, arenaId);
  let position = afterUnit(numbers, at);
  const count = numbers[position++] ?? 0;
  const holds: HoldTicket[] = [];
  for (let index = 0; index < count; index++) {
    const entry = numbers[position] ?? -1;
    const generation = numbers[position + 1] ?? 0;
    const held = ticketAt(numbers, position + 2, arenaId);
    if (held === null) break;
    holds.push({ entry, generation, unit: held });
    position = afterUnit(numbers, position + 2);
  }
  return { unit, holds };
}

/** The flat form of `envelope`, or undefined when it has another shape. */
export function flattenEnvelope(
  envelope: ArenaEnvelope,
  arenaId: number,
): FlatEnvelope | undefined {
  const { value, leaves, slots } = envelope;
  if (envelope.rebuild.length > 0 || leaves.some((marker) => marker.bytes !== undefined)) {
    return undefined;
  }
  const rootLeaf = leaves.indexOf(value as LeafMarker);
  if (rootLeaf >= 0) {
    return slots.length === 0 && leaves.length === 1
      ? flatEnvelope(null, kNoKeys, flatNumbers(envelope, arenaId, 0))
      : undefined;
  }
  if (slots.length === 0 && leaves.length === 0) {
    return flatEnvelope(value, kNoKeys, flatNumbers(envelope, arenaId, -1));
  }
  if (!isPlainContainer(value) || slots.length !== 2 * leaves.length) return undefined;
  // The posted copy below is an array's elements only: named properties keep the envelope.
  if (Array.isArray(value) && Object.keys(value).some((key) => !isArrayIndex(key))) {
    return undefined;
  }
  const container = value as Record<string | number, unknown>;
  // keys[i] is the place of leaf i: every leaf in exactly one own property of the value.
  const keyOfLeaf = new Array<string | number | undefined>(leaves.length);
  for (let index = 0; index + 1 < slots.length; index += 2) {
    const key = slots[index + 1] as string | number;
    const leaf = leaves.indexOf(container[key] as LeafMarker);
    // '__proto__' assigned on either side would set a prototype, not a property.
    if (
      slots[index] !== value ||
      leaf < 0 ||
      keyOfLeaf[leaf] !== undefined ||
      key === '__proto__'
    ) {
      return undefined;
    }
    keyOfLeaf[leaf] = key;
  }
  const keys = wireArray<string | number>();
  for (const key of keyOfLeaf) keys.push(key!);
  const copy = (Array.isArray(value) ? value.slice() : { ...(value as object) }) as Record<
    string | number,
    unknown
  >;
  for (const key of keys) copy[key] = null;
  return flatEnvelope(copy, keys, flatNumbers(envelope, arenaId, -1));
}

function flatNumbers(envelope: ArenaEnvelope, arenaId: number, rootLeaf: number): number[] {
  const { unit, holds, groups, leaves } = envelope;
  const numbers = wireArray<number>();
  numbers.push(arenaId, rootLeaf, groups.length / 3);
  for (const number of groups) numbers.push(number);
  numbers.push(leaves.length);
  for (const marker of leaves) {
    numbers.push(leafCode(marker.type), marker.group, marker.byteOffset, marker.length);
  }
  pushUnit(numbers, unit);
  pushHolds(numbers, holds);
  return numbers;
}

function isPlainContainer(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) return Object.getPrototypeOf(value) === Array.prototype;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}
