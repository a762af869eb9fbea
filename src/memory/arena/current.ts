/**
 * The arena of the current thread: the handle a keel worker was given with its pool, remote or
 * stream. Set once by the worker runtime at boot; read by `Arena.current()`.
 */
import type { Arena } from './arena.js';

let threadArena: Arena | undefined;

/** The handle this thread was given, if any. */
export function currentArena(): Arena | undefined {
  return threadArena;
}

/** Called by the worker runtime at boot, once: the handle `Arena.current()` returns from then on. */
export function adoptCurrentArena(arena: Arena): void {
  threadArena = arena;
}
