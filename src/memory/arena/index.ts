/**
 * The arena component's public surface, for src/index.ts to re-export by name and for the rest
 * of keel to build `Arena`s from options. keel's transports reach the arena through
 * `transit.ts` only. See docs/arena.md.
 */

export { Arena, ArenaUnit, type ArenaViewConstructor } from './arena.js';
export type {
  ArenaOptions,
  ArenaShared,
  ArenaStats,
  ArenaTicket,
  ArenaWaitOptions,
} from './options.js';
export { validateOptions as validateArenaOptions } from './options.js';
export type { ArenaEnvelope } from './envelope.js';

import { keepValue, releaseValue } from './lifetimes.js';

/**
 * Returns now the arena space of every unit whose views `value` reaches (a restored value, a
 * view, or any structure holding them; any arena, any thread's handle); otherwise space
 * returns when the views are garbage-collected. Returns how many units ended. The views must
 * not be used afterwards: their bytes may be overwritten by a later item.
 *
 * @example
 * const frame = await camera.next(); draw(frame); release(frame);
 */
export function release(value: unknown): number {
  return releaseValue(value);
}

/**
 * A copy of `value` that owns its memory: containers copied, every arena-backed view copied
 * into a buffer of its own (same type; Buffers stay Buffers), other leaves shared. Does not
 * release the original.
 *
 * @example
 * const kept = keep(frame); release(frame);
 */
export function keep<T>(value: T): T {
  return keepValue(value);
}
