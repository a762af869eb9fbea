/**
 * What a worker learned at boot that its servers need: the arena it shares with its caller.
 */
import { Arena, release } from '../memory/arena/index.js';
import type { ArenaShared } from '../memory/arena/index.js';
import { reviveSharedObjects } from '../memory/shared-object/index.js';

let workerArena: Arena | undefined;

export function adoptArena(data: unknown): void {
  if (data !== undefined) workerArena = Arena.fromShared(data as ArenaShared);
}

/** Arguments as the caller sent them: restored from the arena, SharedObject handles revived. */
export function receivedArgs(args: readonly unknown[], packed: boolean | undefined): unknown[] {
  const values = (packed && workerArena ? workerArena.restore(args as never) : args) as unknown[];
  return reviveSharedObjects(values);
}

/**
 * A value ready to post: large binary leaves placed in the arena when there is one (the try
 * variant: what does not fit now is copied instead). `discard` gives the space back if posting
 * fails.
 */
export function packForCaller(value: unknown): {
  value: unknown;
  packed: boolean;
  discard: () => void;
} {
  const arena = workerArena;
  if (!arena) return { value, packed: false, discard: () => undefined };
  const envelope = arena.offload(value);
  return { value: envelope, packed: true, discard: () => arena.discard(envelope) };
}

/** Returns the arena space of received arguments now (views of them must not be used after). */
export function releaseReceived(args: readonly unknown[] | undefined): void {
  if (args !== undefined) release(args);
}
