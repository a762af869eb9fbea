/**
 * The one way keel's transports (Pool, spawn, streams and the worker runtime, through
 * execution/binary-link.ts and worker/boot-context.ts) reach the arena: preparing a value to
 * cross a thread boundary and taking it back, the same way on both sides. Large binary leaves
 * go through the arena when there is one (the value becomes an envelope, envelope.ts); cloned
 * SharedObject handles are revived when the sender could have sent any. A value with leaves
 * marked by `move` (values/move.ts) skips the arena and carries their buffers as a transfer
 * list, when the transport can transfer (threads; a child process copies).
 *
 * It calls the public `Arena` methods, as a user's own transport would (docs/arena.md, "Wiring
 * it into a transport"); what it adds is the marks a message carries and whether an envelope
 * forwards views by reference. Nothing outside this folder reads an envelope.
 */
import type { ValueMarks } from '../../protocol/messages.js';
import { movedBuffers } from '../../values/move.js';
import { reviveSharedObjects, sharedObjectHandlesMade } from '../shared-object/index.js';
import type { Arena } from './arena.js';
import { type ArenaEnvelope, holdCount } from './envelope.js';
import type { ArenaWaitOptions } from './options.js';

export { adoptCurrentArena } from './current.js';

/** What a packed value took from the arena (its envelope): given back if it is never received. */
export type PackedClaim = ArenaEnvelope;

export interface PackedValue {
  /** What to post: the value, or its arena envelope. */
  readonly value: unknown;
  readonly marks: ValueMarks;
  /** What the value took from the arena, to give back if posting fails or the receiver dies first. */
  readonly claim: PackedClaim | undefined;
  /** The buffers to transfer with the message (moved leaves), or undefined. */
  readonly transfer: ArrayBuffer[] | undefined;
}

/** Whether the transport a value takes can transfer buffers (a thread) or copies (a process). */
export type TransferSupport = 'transfer' | 'copy';

const kNoMarks: ValueMarks = {};
const kHandles: ValueMarks = { handles: true };
const kPacked: ValueMarks = { packed: true };
const kPackedHandles: ValueMarks = { packed: true, handles: true };

/**
 * With an arena, the try variant (a call's arguments or result): a value never waits for
 * room; leaves that do not fit now are copied instead (a counted fallback).
 */
export function packValue(
  arena: Arena | undefined,
  value: unknown,
  transfers: TransferSupport = 'copy',
): PackedValue {
  const handles = sharedObjectHandlesMade();
  const transfer = transfers === 'transfer' ? movedBuffers(value) : undefined;
  if (!arena || transfer) return plain(value, handles, transfer);
  return packed(arena.offload(value), handles);
}

/**
 * With an arena, the wait variant (a stream's sender): waits for room instead of copying, so a
 * consumer that holds its items slows the producer down. Rejects like `arena.offloadAsync`.
 */
export async function packValueWaiting(
  arena: Arena | undefined,
  value: unknown,
  options: ArenaWaitOptions,
  transfers: TransferSupport = 'copy',
): Promise<PackedValue> {
  const handles = sharedObjectHandlesMade();
  const transfer = transfers === 'transfer' ? movedBuffers(value) : undefined;
  if (!arena || transfer) return plain(value, handles, transfer);
  return packed(await arena.offloadAsync(value, options), handles);
}

/**
 * The value as it is, for cloning or transfer. A message with moved leaves skips the arena
 * whole: its other leaves are cloned with it.
 */
function plain(value: unknown, handles: boolean, transfer: ArrayBuffer[] | undefined): PackedValue {
  return { value, marks: handles ? kHandles : kNoMarks, claim: undefined, transfer };
}

function packed(envelope: ArenaEnvelope, handles: boolean): PackedValue {
  return {
    value: envelope,
    marks: handles ? kPackedHandles : kPacked,
    claim: envelope,
    transfer: undefined,
  };
}

/**
 * True when a packed value forwards views by reference (it took holds on units): its sender
 * hands them over once it is posted (boot-context.ts).
 */
export function claimHasHolds(claim: PackedClaim | undefined): boolean {
  return claim !== undefined && holdCount(claim) > 0;
}

/** The value as its sender had it (binary leaves as views over the arena). */
export function unpackValue(arena: Arena | undefined, value: unknown, marks: ValueMarks): unknown {
  const restored = marks.packed && arena ? arena.restore(value as ArenaEnvelope) : value;
  return marks.handles ? reviveSharedObjects(restored) : restored;
}

/** Gives back the arena space of a received value that will never be unpacked. */
export function discardUnpacked(arena: Arena | undefined, value: unknown, marks: ValueMarks): void {
  if (marks.packed && arena) arena.discard(value as ArenaEnvelope);
}

/** Gives back what a packed value took from the arena (its post failed, or its receiver died). */
export function discardClaim(arena: Arena | undefined, claim: PackedClaim | undefined): void {
  if (arena && claim) arena.discard(claim);
}
