/**
 * What crosses a thread boundary in place of a value: the envelope and the unit ticket. Plain
 * data only, structured-cloneable; posted as ONE message so that cloning keeps the identity of
 * the markers it holds in several places.
 */

import type { LeafType } from './leaf-types.js';

/**
 * A unit as the receiver needs it: which slot, which generation of that slot (a stale ticket is
 * refused), and the blocks to return, as flat `[firstBlock, blockCount, ...]` pairs.
 */
export interface ArenaTicket {
  /** The arena the unit lives in: a ticket of another arena is refused. */
  readonly arenaId: number;
  /** -1 for a unit that reserved nothing: ending it is a no-op. */
  readonly slot: number;
  /** The unit slot's generation when the ticket was made: a stale ticket is refused. */
  readonly generation: number;
  /** Flat pairs (first block, block count) of the unit's regions in the data area. */
  readonly regions: readonly number[];
}

/**
 * One more holder of a unit received earlier: a view of it forwarded by reference. `entry` and
 * `generation` name the hold entry (a stale one is refused); `unit` is the unit held, with its
 * regions (to return them if this holder turns out to be the last).
 */
export interface HoldTicket {
  /** The hold entry's index in the arena's hold table. */
  readonly entry: number;
  /** The hold entry's generation: a stale ticket is refused. */
  readonly generation: number;
  /** The unit held. */
  readonly unit: ArenaTicket;
}

/**
 * Stands in an envelope's value for one binary leaf. `group` indexes `envelope.groups`;
 * -1 means the leaf travels inline in `bytes` (a Node Buffer, so that it comes back a Buffer).
 */
export interface LeafMarker {
  readonly type: LeafType;
  readonly group: number;
  /** Within the group's region (a view) or within the copied buffer (a copy-out group). */
  readonly byteOffset: number;
  /** Elements for typed arrays, bytes for DataView, Buffer and ArrayBuffer. */
  readonly length: number;
  readonly bytes?: Uint8Array;
}

declare const kValueType: unique symbol;

/**
 * A value with its large binary leaves moved into an arena. Post it as one structured-clone
 * value; `arena.restore(envelope)` on the other side gives the value back. An envelope can be
 * restored once.
 */
export interface ArenaEnvelope<T = unknown> {
  /** Marks the object as an envelope (`Arena.isEnvelope`). */
  readonly kind: 'keel.arena-envelope';
  /** The value with each offloaded leaf replaced by its marker (or the value itself). */
  readonly value: unknown;
  /** The unit holding the leaves' bytes copied in, or null when nothing was copied in. */
  readonly unit: ArenaTicket | null;
  /** Units already in the arena that views of the value point into (forwarded by reference). */
  readonly holds: readonly HoldTicket[];
  /** Flat triples: data-area byte offset, byte length, 1 when restored as a copy else 0. */
  readonly groups: readonly number[];
  /** One marker per offloaded leaf, in the order of `slots`. */
  readonly leaves: readonly LeafMarker[];
  /** Flat pairs (container, key) holding a marker. */
  readonly slots: readonly unknown[];
  /** Maps and Sets that hold a marker as a key or member. */
  readonly rebuild: readonly (Map<unknown, unknown> | Set<unknown>)[];
  /** Type-level only: the type of the value inside. */
  readonly [kValueType]?: T;
}

export const kEnvelopeKind = 'keel.arena-envelope';

export function isEnvelope(value: unknown): value is ArenaEnvelope {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { kind?: unknown }).kind === kEnvelopeKind &&
    Array.isArray((value as { leaves?: unknown }).leaves) &&
    Array.isArray((value as { holds?: unknown }).holds)
  );
}

export function isTicket(value: unknown): value is ArenaTicket {
  if (typeof value !== 'object' || value === null) return false;
  const ticket = value as Partial<Record<keyof ArenaTicket, unknown>>;
  return (
    Number.isInteger(ticket.arenaId) &&
    Number.isInteger(ticket.slot) &&
    Number.isInteger(ticket.generation) &&
    Array.isArray(ticket.regions)
  );
}

export function isHoldTicket(value: unknown): value is HoldTicket {
  if (typeof value !== 'object' || value === null) return false;
  const hold = value as Partial<Record<keyof HoldTicket, unknown>>;
  return Number.isInteger(hold.entry) && Number.isInteger(hold.generation) && isTicket(hold.unit);
}

/** What an offloaded value took from the arena: given back if it is never received. */
export type ArenaClaim = Pick<ArenaEnvelope, 'unit' | 'holds'>;

/**
 * What a packed value took from the arena, to give back if it is never received: an envelope's
 * tickets, or a flat form's numbers (their held part, flat-envelope.ts).
 */
export type PackedClaim = ArenaClaim | readonly number[];
