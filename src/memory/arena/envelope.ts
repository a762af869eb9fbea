/**
 * The one wire form of an arena value: what `arena.offload` returns, what keel's transports
 * post, what `restore` reads and what a receiver keeps as its lease. Three entries, plain data,
 * structured-cloneable; its arrays are wire arrays (values/wire-array.ts), which the fast lane
 * encodes without the checks a user's array needs:
 *
 *   [ value     what to post in place of the value: the value itself when nothing in it was
 *               replaced; else a copy of its containers with each leaf's place emptied (null),
 *               or a marker object where a Map or a Set held the leaf; null when the value is
 *               itself a leaf
 *   , places    where the leaves go back, by `shape` (numbers[kShapeAt]):
 *                 kRootLeaf (0)   empty: the value is leaf 0
 *                 kOwnKeys (-1)   places[i] is the own key of `value` that gets leaf i (the
 *                                 values most calls carry: the fast lane's compact encoding)
 *                 kPlaces (1)     (container, key, leaf) triples: container[key] gets the leaf;
 *                                 a Map or Set container holds `key`, a marker, where the leaf
 *                                 goes (rebuilt in order); container null: the value is the
 *                                 leaf. `leaf` is an index into the leaves below, or the bytes
 *                                 of a Buffer that crossed inline (it comes back a Buffer).
 *                                 Containers are named by identity: the envelope goes as ONE
 *                                 message, whose cloning keeps it.
 *   , numbers ]
 *
 * numbers (every entry an integer; offsets may exceed 2^31, so they stay JS numbers):
 *
 *   [0]           tag            kEnvelopeTag: this array is an arena envelope
 *   [1]           arenaId        the arena's id: an envelope of another arena is refused
 *   [2]           shape          how to read `places` (above)
 *   [3]           groupCount G   then G triples: dataOffsetBytes, byteLength, copyOut (1: restore
 *                                as one owned copy, for ArrayBuffer leaves; else views)
 *   [4 + 3G]      leafCount L    then L quadruples: type code (index into kLeafTypes), group,
 *                                byteOffset within the group, length (elements; bytes for
 *                                DataView, Buffer, ArrayBuffer)
 *   [H = 5+3G+4L] the held part, what the receiver holds once it accepts the value:
 *                   unit triple: slot (-1: nothing copied in), generation, regionCount R,
 *                                then R pairs (firstBlock, blockCount)
 *                   holdCount K, then K holds: entry, generation, and the held unit's triple
 *                                (slot, generation, R, R pairs)
 *
 * Views that overlap in one buffer share a group (their aliasing survives); a leaf forwarded by
 * reference is a group inside a unit named by a hold. The held part is what a receiver gives
 * back when its views go (held-part.ts), and what a view forwarded on is checked against.
 */
import { wireArray } from '../../values/wire-array.js';
import { invalidArgument } from '../../errors.js';
import { kLeafTypes, type LeafType } from './leaf-types.js';

declare const kValueType: unique symbol;

/**
 * A value with its large binary leaves moved into an arena: what `arena.offload` returns. Post
 * it as ONE structured-clone message; `arena.restore(envelope)` on the other side gives the
 * value back, once. Plain data whose layout is keel's own: tell one apart with
 * `Arena.isEnvelope`, and read nothing else of it.
 */
export type ArenaEnvelope<T = unknown> = readonly [
  value: unknown,
  places: readonly unknown[],
  numbers: readonly number[],
] & {
  /** Type-level only: the type of the value inside. */
  readonly [kValueType]?: T;
};

/** numbers[0] of every envelope: below 2^30, so that it stays a small integer to V8. */
export const kEnvelopeTag = 0x4b41; // 'KA'
export const kArenaIdAt = 1;
export const kShapeAt = 2;
export const kGroupCountAt = 3;

/** Shapes (numbers[kShapeAt]): how the leaves find their places. */
export const kRootLeaf = 0;
export const kOwnKeys = -1;
export const kPlaces = 1;

/** Entries of the numbers before the groups: tag, arenaId, shape, groupCount. */
export const kHeaderEntries = 4;

/** An envelope of these parts (a wire array itself, so the codec encodes it unchecked). */
export function envelopeOf(
  value: unknown,
  places: readonly unknown[],
  numbers: readonly number[],
): ArenaEnvelope {
  const envelope = wireArray<unknown>(3);
  envelope[0] = value;
  envelope[1] = places;
  envelope[2] = numbers;
  return envelope as unknown as ArenaEnvelope;
}

/** The places of a value that is one leaf, or has none: shared, never written to. */
export const kNoPlaces: readonly unknown[] = Object.freeze(wireArray<unknown>());

/** A cheap shape check: an array of three whose numbers carry the envelope tag. */
export function isEnvelope(value: unknown): value is ArenaEnvelope {
  return (
    Array.isArray(value) &&
    value.length === 3 &&
    Array.isArray(value[1]) &&
    Array.isArray(value[2]) &&
    (value[2] as unknown[])[0] === kEnvelopeTag
  );
}

/** Type codes of the envelope: indexes into kLeafTypes (both ends run the same build). */
const kLeafCodes = new Map(kLeafTypes.map((type, code) => [type, code]));

/** The envelope's code for a leaf type. */
export function leafCode(type: LeafType): number {
  return kLeafCodes.get(type) ?? -1;
}

/** Where the leaf count sits. */
export function leafCountAt(numbers: readonly number[]): number {
  return kHeaderEntries + 3 * (numbers[kGroupCountAt] ?? 0);
}

/** Where the held part starts. */
export function heldAt(numbers: readonly number[]): number {
  const leavesAt = leafCountAt(numbers);
  return leavesAt + 1 + 4 * (numbers[leavesAt] ?? 0);
}

/**
 * Where the held part starts, after checking that every count in `numbers` is a count and that
 * the parts they announce (groups, leaves, the unit's regions, the holds) lie inside it: a forged
 * or corrupted envelope is refused before anything is read or taken. O(holds).
 */
export function checkedHeldAt(numbers: readonly number[]): number {
  const length = numbers.length;
  const groups = numbers[kGroupCountAt];
  const leaves = numbers[kHeaderEntries + 3 * (isCount(groups) ? groups : 0)];
  if (!isCount(groups) || !isCount(leaves)) throw malformed(numbers);
  const at = heldAt(numbers);
  let position = afterCheckedUnit(numbers, at);
  const holds = numbers[position++];
  if (!isCount(holds)) throw malformed(numbers);
  for (let hold = 0; hold < holds && position <= length; hold++) {
    position = afterCheckedUnit(numbers, position + 2);
  }
  if (position > length) throw malformed(numbers);
  return at;
}

/** The end of the unit triple at `at`, checked to be one (and to fit in `numbers`). */
function afterCheckedUnit(numbers: readonly number[], at: number): number {
  const regions = numbers[at + 2];
  if (
    !Number.isInteger(numbers[at]) ||
    !Number.isInteger(numbers[at + 1]) ||
    !isCount(regions) ||
    at + 3 + 2 * regions > numbers.length
  ) {
    throw malformed(numbers);
  }
  return at + 3 + 2 * regions;
}

function malformed(numbers: readonly number[]): Error {
  return invalidArgument('envelope', 'an arena envelope', numbers.length);
}

function isCount(value: number | undefined): value is number {
  return Number.isInteger(value) && (value as number) >= 0;
}

/** Where the unit triple after `at` (slot, generation, R, R pairs) ends. */
export function afterUnit(numbers: readonly number[], at: number): number {
  return at + 3 + 2 * (numbers[at + 2] ?? 0);
}

/** How many units an envelope forwards by reference (holds it took on units received earlier). */
export function holdCount(envelope: ArenaEnvelope): number {
  const numbers = envelope[2];
  return numbers[afterUnit(numbers, heldAt(numbers))] ?? 0;
}
