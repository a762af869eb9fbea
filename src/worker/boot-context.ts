/**
 * What a worker learned at boot that its servers need: the arena it shares with its caller.
 */
import { Arena, release, type ArenaShared, type ArenaWaitOptions } from '../memory/arena/index.js';
import {
  adoptCurrentArena,
  claimHasHolds,
  discardClaim,
  packValue,
  packValueWaiting,
  unpackValue,
  type PackedValue,
  type TransferSupport,
} from '../memory/arena/transit.js';
import type { ValueMarks } from '../protocol/messages.js';

let workerArena: Arena | undefined;
/** A thread transfers moved values to its caller; a child process copies them. */
let workerTransfers: TransferSupport = 'copy';
/**
 * The latest value this thread copied into the arena for its caller, kept reachable until the
 * next one is packed. Why: a function that returns a fresh large buffer each call leaves it as
 * garbage here once it is copied out. V8 frees such buffers in batches (a scavenge once about
 * 32 MB of them are dead) and glibc then gives the whole batch back to the OS, being the top of
 * this thread's malloc heap: every later buffer page-faults its memory in again (about 300
 * faults per 1.2 MB, 4-5x the user's allocate-and-fill time on the reference VM). With the
 * newest buffer still alive above the freed ones, they stay in the heap for the next
 * allocations, as they do when buffers are transferred away (docs/design-notes.md,
 * "Frames born in the worker"). Costs one reference; the value is not copied or changed.
 */
const latestCopiedOut: { value: unknown } = { value: undefined };

/** `transfers`: whether this worker's channel can transfer buffers (a thread) or not. */
export function adoptArena(data: unknown, transfers: TransferSupport): void {
  workerTransfers = transfers;
  if (data === undefined) return;
  workerArena = Arena.fromShared(data as ArenaShared);
  adoptCurrentArena(workerArena);
}

/** Arguments as the caller sent them. */
export function receivedArgs(args: readonly unknown[], marks: ValueMarks): unknown[] {
  return unpackValue(workerArena, args, marks) as unknown[];
}

/** A result ready to post, with the marks its message must carry and what to transfer. */
export function packForCaller(value: unknown): PackedValue {
  return keptIfCopiedOut(value, packValue(workerArena, value, workerTransfers));
}

/** A stream item ready to post: waits for room in the arena (backpressure) instead of copying. */
export function packForCallerWaiting(
  value: unknown,
  options: ArenaWaitOptions,
): Promise<PackedValue> {
  return packValueWaiting(workerArena, value, options, workerTransfers).then((packed) =>
    keptIfCopiedOut(value, packed),
  );
}

/**
 * Keeps `value` as the latest one copied into the arena (see latestCopiedOut). A value that
 * forwards arena views by reference is not kept: that would hold its arena space longer.
 */
function keptIfCopiedOut(value: unknown, packed: PackedValue): PackedValue {
  if (packed.claim !== undefined && !claimHasHolds(packed.claim)) latestCopiedOut.value = value;
  return packed;
}

/** Gives back the space of a packed result that could not be posted. */
export function discardPacked(packed: PackedValue): void {
  discardClaim(workerArena, packed.claim);
}

/**
 * Ends this thread's holds on the arena views that a posted value carried by reference (views
 * made with `Arena.current().allocate()`, or received ones passed on): the value was handed
 * over, as a transferred buffer is. Costs nothing unless something crossed by reference.
 */
export function handOver(value: unknown, packed: PackedValue): void {
  if (claimHasHolds(packed.claim)) release(value);
}

/** Returns the arena space of received arguments now (views of them must not be used after). */
export function releaseReceived(args: readonly unknown[] | undefined): void {
  if (args !== undefined) release(args);
}
