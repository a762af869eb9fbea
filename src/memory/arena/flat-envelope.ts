/**
 * An envelope reshaped for the fast lane: numbers in flat arrays, no shared references. An
 * envelope names each marker twice (in `leaves` and where it sits in `value`) and each patched
 * container twice (in `value` and in `slots`); structured cloning keeps that identity, but the
 * fast lane's compact codec does not carry shared references, and V8's serializer, which does,
 * takes ~5 µs to decode a one-frame envelope on the 2-vCPU reference VM, a fifth of a stream's
 * budget per frame on the receiving thread. The flat form of a simple item (a binary leaf, or
 * a plain object or array whose own properties hold the leaves) names markers by index and
 * carries the ticket and markers as numbers: it takes the compact path and decodes in ~1 µs.
 *
 *   [ value      the value, each marker replaced by null (null when the value is one marker)
 *   , rootLeaf   index of the marker that is the whole value, or -1
 *   , keys       own keys of `value` that held a marker
 *   , keyLeaves  for each key, the index of its marker
 *   , ticket     [] (no unit) or [arenaId, slot, generation, ...regions]
 *   , groups     the envelope's groups (flat triples)
 *   , leaves     4 numbers per marker: type code (kLeafTypes), group, byteOffset, length
 *   , holds      per hold (a view forwarded by reference): entry, generation, then its unit's
 *                ticket as [arenaId, slot, generation, regionNumbers, ...regions] ]
 *
 * `flattenEnvelope` returns undefined for any other shape (markers deeper than the top level,
 * Maps or Sets holding markers, inline Buffers); such envelopes cross as they are. An envelope
 * is an object, the flat form an array: `isFlatEnvelope` tells them apart. The simplest values
 * skip the envelope and are written in this form directly (direct.ts); the receiver restores
 * the flat form as it is (restore.ts, `restoreFlat`).
 */
import {
  type ArenaEnvelope,
  type ArenaTicket,
  type HoldTicket,
  type LeafMarker,
} from './envelope.js';
import { kLeafTypes, type LeafType } from './leaf-types.js';

export type FlatEnvelope = readonly [
  value: unknown,
  rootLeaf: number,
  keys: readonly (string | number)[],
  keyLeaves: readonly number[],
  ticket: readonly number[],
  groups: readonly number[],
  leaves: readonly number[],
  holds: readonly number[],
];

/** Type codes of the flat form: indexes into kLeafTypes (both ends run the same build). */
const kLeafCodes = new Map(kLeafTypes.map((type, code) => [type, code]));

/** The flat form's code for a leaf type. */
export function leafCode(type: LeafType): number {
  return kLeafCodes.get(type) ?? -1;
}

export function isFlatEnvelope(value: unknown): value is FlatEnvelope {
  return Array.isArray(value) && value.length === 8;
}

/** The flat form of `envelope`, or undefined when it has another shape. */
export function flattenEnvelope(envelope: ArenaEnvelope): FlatEnvelope | undefined {
  const { value, leaves, slots } = envelope;
  if (envelope.rebuild.length > 0 || leaves.some((marker) => marker.bytes !== undefined)) {
    return undefined;
  }
  const leafNumbers: number[] = [];
  for (const marker of leaves) {
    leafNumbers.push(leafCode(marker.type), marker.group, marker.byteOffset, marker.length);
  }
  const parts = {
    unit: envelope.unit,
    holds: envelope.holds,
    groups: envelope.groups,
    leafNumbers,
  };
  const rootLeaf = leaves.indexOf(value as LeafMarker);
  if (rootLeaf >= 0)
    return slots.length === 0 ? flatForm(null, rootLeaf, [], [], parts) : undefined;
  if (slots.length === 0) return flatForm(value, -1, [], [], parts);
  if (!isPlainContainer(value)) return undefined;
  const container = value as Record<string | number, unknown>;
  const keys: (string | number)[] = [];
  const keyLeaves: number[] = [];
  for (let index = 0; index + 1 < slots.length; index += 2) {
    const key = slots[index + 1] as string | number;
    const leaf = leaves.indexOf(container[key] as LeafMarker);
    // '__proto__' assigned on either side would set a prototype, not a property.
    if (slots[index] !== value || leaf < 0 || key === '__proto__') return undefined;
    keys.push(key);
    keyLeaves.push(leaf);
  }
  return flatForm(value, -1, keys, keyLeaves, parts);
}

/** What a flat form carries besides the value: the unit, the holds, the groups and leaves. */
export interface FlatParts {
  readonly unit: ArenaTicket | null;
  readonly holds: readonly HoldTicket[];
  readonly groups: readonly number[];
  /** 4 numbers per leaf: type code (`leafCode`), group, byteOffset, length. */
  readonly leafNumbers: readonly number[];
}

/**
 * Builds a flat form. `value` is a plain array or object whose own `keys` hold leaves (each
 * `keyLeaves[i]` names its leaf): it is posted as a copy with those places emptied, so the
 * sender's value stays as it was. With `rootLeaf` >= 0 the value is that leaf and `value`
 * should be null.
 */
export function flatForm(
  value: unknown,
  rootLeaf: number,
  keys: readonly (string | number)[],
  keyLeaves: readonly number[],
  { unit, holds, groups, leafNumbers }: FlatParts,
): FlatEnvelope {
  let posted = value;
  if (keys.length > 0) {
    // A copy (holes kept): the envelope or the caller's value stays intact (for a discard).
    const copy = (Array.isArray(value) ? value.slice() : { ...(value as object) }) as Record<
      string | number,
      unknown
    >;
    for (const key of keys) copy[key] = null;
    posted = copy;
  }
  const ticket = unit === null ? [] : [unit.arenaId, unit.slot, unit.generation, ...unit.regions];
  const holdNumbers: number[] = [];
  for (const { entry, generation, unit: held } of holds) {
    holdNumbers.push(entry, generation, held.arenaId, held.slot, held.generation);
    holdNumbers.push(held.regions.length, ...held.regions);
  }
  return [posted, rootLeaf, keys, keyLeaves, ticket, groups, leafNumbers, holdNumbers];
}

export function holdsOf(numbers: readonly number[]): HoldTicket[] {
  const holds: HoldTicket[] = [];
  let index = 0;
  while (index + 5 < numbers.length) {
    const [entry = -1, generation = 0, arenaId = 0, slot = -1, unitGeneration = 0, count = 0] =
      numbers.slice(index, index + 6);
    const regions = numbers.slice(index + 6, index + 6 + count);
    holds.push({ entry, generation, unit: { arenaId, slot, generation: unitGeneration, regions } });
    index += 6 + count;
  }
  return holds;
}

export function ticketOf(numbers: readonly number[]): ArenaTicket | null {
  if (numbers.length < 3) return null;
  const [arenaId = 0, slot = -1, generation = 0, ...regions] = numbers;
  return { arenaId, slot, generation, regions };
}

function isPlainContainer(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) return Object.getPrototypeOf(value) === Array.prototype;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}
