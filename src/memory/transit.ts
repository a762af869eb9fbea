/**
 * Preparing a value to cross a thread boundary and taking it back, the same way on both sides:
 * large binary leaves through the arena when there is one, cloned SharedObject handles revived
 * when the sender could have sent any. Shared by the caller (execution/binary-link.ts) and the
 * worker (worker/boot-context.ts).
 */
import type { ValueMarks } from '../protocol/messages.js';
import type { Arena, ArenaEnvelope, ArenaWaitOptions } from './arena/index.js';
import { engineOf } from './arena/arena.js';
import type { ArenaEngine } from './arena/engine.js';
import type { PackedClaim } from './arena/envelope.js';
import { afterUnit, flattenEnvelope, heldAt, isFlatEnvelope } from './arena/flat-envelope.js';
import { reviveSharedObjects, sharedObjectHandlesMade } from './shared-object/index.js';

export interface PackedValue {
  /** What to post: the value, or its arena envelope (flat when its shape allows). */
  readonly value: unknown;
  readonly marks: ValueMarks;
  /** What the value took from the arena, to give back if posting fails or the receiver dies first. */
  readonly claim: PackedClaim | undefined;
}

const kNoMarks: ValueMarks = {};
const kHandles: ValueMarks = { handles: true };
const kPacked: ValueMarks = { packed: true };
const kPackedHandles: ValueMarks = { packed: true, handles: true };

/**
 * With an arena, the try variant: a value never waits for room; leaves that do not fit now
 * are copied instead (a counted fallback).
 */
export function packValue(arena: Arena | undefined, value: unknown): PackedValue {
  const handles = sharedObjectHandlesMade();
  if (!arena) return { value, marks: handles ? kHandles : kNoMarks, claim: undefined };
  const engine = engineOf(arena);
  const direct = engine.offloadDirect(value);
  if (direct !== undefined) return packed(direct.flat, direct.claim, handles);
  return packedEnvelope(engine, arena.offload(value), handles);
}

/**
 * With an arena, the wait variant (a stream's sender): waits for room instead of copying, so a
 * consumer that holds its items slows the producer down. Rejects like `arena.offloadAsync`.
 */
export async function packValueWaiting(
  arena: Arena | undefined,
  value: unknown,
  options: ArenaWaitOptions,
): Promise<PackedValue> {
  const handles = sharedObjectHandlesMade();
  if (!arena) return { value, marks: handles ? kHandles : kNoMarks, claim: undefined };
  const engine = engineOf(arena);
  const direct = engine.offloadDirect(value);
  if (direct !== undefined) return packed(direct.flat, direct.claim, handles);
  return packedEnvelope(engine, await arena.offloadAsync(value, options), handles);
}

function packedEnvelope(
  engine: ArenaEngine,
  envelope: ArenaEnvelope,
  handles: boolean,
): PackedValue {
  const flat = flattenEnvelope(envelope, engine.arenaId);
  return flat === undefined ? packed(envelope, envelope, handles) : packed(flat, flat[2], handles);
}

function packed(value: unknown, claim: PackedClaim, handles: boolean): PackedValue {
  return { value, marks: handles ? kPackedHandles : kPacked, claim };
}

/** True when a packed value forwards views by reference (it took holds on units). */
export function claimHasHolds(claim: PackedClaim | undefined): boolean {
  if (claim === undefined) return false;
  if (!Array.isArray(claim))
    return (claim as Exclude<PackedClaim, readonly number[]>).holds.length > 0;
  const numbers = claim as readonly number[];
  return (numbers[afterUnit(numbers, heldAt(numbers))] ?? 0) > 0;
}

/** The value as its sender had it (binary leaves as views over the arena). */
export function unpackValue(arena: Arena | undefined, value: unknown, marks: ValueMarks): unknown {
  let restored = value;
  if (marks.packed && arena) {
    restored = isFlatEnvelope(value)
      ? engineOf(arena).restoreFlat(value)
      : arena.restore(value as ArenaEnvelope);
  }
  return marks.handles ? reviveSharedObjects(restored) : restored;
}

/** Gives back the arena space of a received value that will never be unpacked. */
export function discardUnpacked(arena: Arena | undefined, value: unknown, marks: ValueMarks): void {
  if (marks.packed && arena) engineOf(arena).discard(claimOf(value));
}

/** What a posted envelope, in either of its forms, took from the arena. */
function claimOf(value: unknown): PackedClaim {
  return isFlatEnvelope(value) ? value[2] : (value as ArenaEnvelope);
}

/** Gives back what a packed value took from the arena (its post failed, or its receiver died). */
export function discardClaim(arena: Arena | undefined, claim: PackedClaim | undefined): void {
  if (arena && claim) engineOf(arena).discard(claim);
}
