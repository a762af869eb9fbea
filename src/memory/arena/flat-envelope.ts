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
  const rootLeaf = leaves.indexOf(value as LeafMarker);
  if (rootLeaf >= 0) return slots.length === 0 ? flat(envelope, null, rootLeaf, [], []) : undefined;
  if (slots.length === 0) return flat(envelope, value, -1, [], []);
  if (!isPlainContainer(value)) return undefined;
  const container = value as Record<string | number, unknown>;
  // A copy (holes kept), so that the envelope itself stays intact for a discard.
  const copy = (Array.isArray(value) ? value.slice() : { ...container }) as Record<
    string | number,
    unknown
  >;
  const keys: (string | number)[] = [];
  const keyLeaves: number[] = [];
  for (let index = 0; index + 1 < slots.length; index += 2) {
    const key = slots[index + 1] as string | number;
    const leaf = leaves.indexOf(container[key] as LeafMarker);
    // '__proto__' assigned on either side would set a prototype, not a property.
    if (slots[index] !== value || leaf < 0 || key === '__proto__') return undefined;
    copy[key] = null;
    keys.push(key);
    keyLeaves.push(leaf);
  }
  return flat(envelope, copy, -1, keys, keyLeaves);
}

function flat(
  envelope: ArenaEnvelope,
  value: unknown,
  rootLeaf: number,
  keys: (string | number)[],
  keyLeaves: number[],
): FlatEnvelope {
  const unit = envelope.unit;
  const ticket = unit === null ? [] : [unit.arenaId, unit.slot, unit.generation, ...unit.regions];
  const leaves: number[] = [];
  for (const marker of envelope.leaves) {
    leaves.push(leafCode(marker.type), marker.group, marker.byteOffset, marker.length);
  }
  const holds: number[] = [];
  for (const { entry, generation, unit: held } of envelope.holds) {
    holds.push(entry, generation, held.arenaId, held.slot, held.generation, held.regions.length);
    holds.push(...held.regions);
  }
  return [value, rootLeaf, keys, keyLeaves, ticket, envelope.groups, leaves, holds];
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
