/**
 * The one way keel's transports (Pool, spawn, streams and the worker runtime, through
 * execution/binary-link.ts and worker/boot-context.ts) reach the arena: preparing a value to
 * cross a thread boundary and taking it back, the same way on both sides. Large binary leaves
 * go through the arena when there is one (the value becomes an envelope, envelope.ts); cloned
 * SharedObject handles are revived when the sender could have sent any. Leaves marked by
 * `move` (values/move.ts) skip the arena, leaf by leaf, and their buffers travel as a transfer
 * list, when the transport can transfer (threads; a child process copies); the message's other
 * large leaves still go through the arena.
 *
 * It calls the public `Arena` methods, as a user's own transport would (docs/arena.md, "Wiring
 * it into a transport"), except for a message with both moved and unmoved large leaves (the
 * engine's offload, told which buffers to leave in the value); what it adds is the marks a
 * message carries and whether an envelope forwards views by reference. Nothing outside this
 * folder reads an envelope.
 */
import type { ValueMarks } from '../../protocol/messages.js';
import { type MovedParts, movedParts } from '../../values/move.js';
import { reviveSharedObjects, sharedObjectHandlesMade } from '../shared-object/index.js';
import { type Arena, arenaEngine } from './arena.js';
import { type ArenaEnvelope, holdCount } from './envelope.js';
import { type ArenaWaitOptions, waitDeadlineMs } from './options.js';

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
  const moved = transfers === 'transfer' ? movedParts(value) : undefined;
  if (!arena) return plain(value, handles, moved?.buffers);
  if (!moved) return packed(arena.offload(value), handles, undefined);
  if (!arenaTakesSome(arena, moved)) return plain(value, handles, moved.buffers);
  const kept = new Set<ArrayBufferLike>(moved.buffers);
  return packed(arenaEngine(arena).offloadNow(value, kept), handles, moved.buffers);
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
  const moved = transfers === 'transfer' ? movedParts(value) : undefined;
  if (!arena) return plain(value, handles, moved?.buffers);
  if (!moved) return packed(await arena.offloadAsync(value, options), handles, undefined);
  if (!arenaTakesSome(arena, moved)) return plain(value, handles, moved.buffers);
  const kept = new Set<ArrayBufferLike>(moved.buffers);
  const deadlineMs = waitDeadlineMs(options);
  const envelope = await arenaEngine(arena).offloadWaiting(value, deadlineMs, options.signal, kept);
  return packed(envelope, handles, moved.buffers);
}

/**
 * Whether a message with moved leaves has others the arena would take. When every large leaf
 * is moved (the usual `move(frame)`), the message skips the arena whole: no envelope to build
 * or restore.
 */
function arenaTakesSome(arena: Arena, moved: MovedParts): boolean {
  return moved.largestUnmovedBytes >= arena.minBytes;
}

/** The value as it is, for cloning or transfer (moved leaves in `transfer`). */
function plain(value: unknown, handles: boolean, transfer: ArrayBuffer[] | undefined): PackedValue {
  return { value, marks: handles ? kHandles : kNoMarks, claim: undefined, transfer };
}

/** An envelope to post; moved leaves stay in it and travel in `transfer`. */
function packed(
  envelope: ArenaEnvelope,
  handles: boolean,
  transfer: ArrayBuffer[] | undefined,
): PackedValue {
  return {
    value: envelope,
    marks: handles ? kPackedHandles : kPacked,
    claim: envelope,
    transfer,
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
