/**
 * Preparing a value to cross a thread boundary and taking it back, the same way on both sides:
 * large binary leaves through the arena when there is one, cloned SharedObject handles revived
 * when the sender could have sent any. Shared by the caller (execution/binary-link.ts) and the
 * worker (worker/boot-context.ts).
 */
import type { ValueMarks } from '../protocol/messages.js';
import type { Arena, ArenaEnvelope, ArenaWaitOptions } from './arena/index.js';
import { flattenEnvelope, inflateEnvelope, isFlatEnvelope } from './arena/flat-envelope.js';
import { reviveSharedObjects, sharedObjectHandlesMade } from './shared-object/index.js';

export interface PackedValue {
  /** What to post: the value, or its arena envelope. */
  readonly value: unknown;
  readonly marks: ValueMarks;
  /** The envelope, to discard if posting fails or the receiver dies first. */
  readonly envelope: ArenaEnvelope | undefined;
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
  if (!arena) return { value, marks: handles ? kHandles : kNoMarks, envelope: undefined };
  return packedEnvelope(arena.offload(value), handles);
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
  if (!arena) return { value, marks: handles ? kHandles : kNoMarks, envelope: undefined };
  return packedEnvelope(await arena.offloadAsync(value, options), handles);
}

/** The flat form, when the envelope's shape allows, decodes several times faster (flat-envelope.ts). */
function packedEnvelope(envelope: ArenaEnvelope, handles: boolean): PackedValue {
  const posted = flattenEnvelope(envelope) ?? envelope;
  return { value: posted, marks: handles ? kPackedHandles : kPacked, envelope };
}

/** The value as its sender had it (binary leaves as views over the arena). */
export function unpackValue(arena: Arena | undefined, value: unknown, marks: ValueMarks): unknown {
  const restored = marks.packed && arena ? arena.restore(envelopeOf(value)) : value;
  return marks.handles ? reviveSharedObjects(restored) : restored;
}

/** Gives back the arena space of a received value that will never be unpacked. */
export function discardUnpacked(arena: Arena | undefined, value: unknown, marks: ValueMarks): void {
  if (marks.packed && arena) arena.discard(envelopeOf(value));
}

/** A posted envelope, in either of its forms. */
function envelopeOf(value: unknown): ArenaEnvelope {
  return isFlatEnvelope(value) ? inflateEnvelope(value) : (value as ArenaEnvelope);
}
