/**
 * Preparing a value to cross a thread boundary and taking it back, the same way on both sides:
 * large binary leaves through the arena when there is one, cloned SharedObject handles revived
 * when the sender could have sent any. Shared by the caller (execution/binary-link.ts) and the
 * worker (worker/boot-context.ts).
 */
import type { ValueMarks } from '../protocol/messages.js';
import type { Arena, ArenaEnvelope, ArenaWaitOptions } from './arena/index.js';
import { engineOf } from './arena/arena.js';
import type { ArenaClaim } from './arena/envelope.js';
import {
  type FlatEnvelope,
  flattenEnvelope,
  holdsOf,
  isFlatEnvelope,
  ticketOf,
} from './arena/flat-envelope.js';
import { reviveSharedObjects, sharedObjectHandlesMade } from './shared-object/index.js';

export interface PackedValue {
  /** What to post: the value, or its arena envelope (flat when its shape allows). */
  readonly value: unknown;
  readonly marks: ValueMarks;
  /** What the value took from the arena, to give back if posting fails or the receiver dies first. */
  readonly claim: ArenaClaim | undefined;
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
  const direct = engineOf(arena).offloadDirect(value);
  if (direct !== undefined) return packed(direct.flat, direct.claim, handles);
  const envelope = arena.offload(value);
  return packed(flattenEnvelope(envelope) ?? envelope, envelope, handles);
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
  const direct = engineOf(arena).offloadDirect(value);
  if (direct !== undefined) return packed(direct.flat, direct.claim, handles);
  const envelope = await arena.offloadAsync(value, options);
  return packed(flattenEnvelope(envelope) ?? envelope, envelope, handles);
}

function packed(value: unknown, claim: ArenaClaim, handles: boolean): PackedValue {
  return { value, marks: handles ? kPackedHandles : kPacked, claim };
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
function claimOf(value: unknown): ArenaClaim {
  if (!isFlatEnvelope(value)) return value as ArenaEnvelope;
  const flat: FlatEnvelope = value;
  return { unit: ticketOf(flat[4]), holds: holdsOf(flat[7]) };
}

/** Gives back what a packed value took from the arena (its post failed, or its receiver died). */
export function discardClaim(arena: Arena | undefined, claim: ArenaClaim | undefined): void {
  if (arena && claim) engineOf(arena).discard(claim);
}
