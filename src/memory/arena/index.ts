/**
 * The arena component: what the rest of keel (and src/index.ts) imports. See docs/arena.md.
 */

export { Arena, ArenaUnit, type ArenaViewConstructor } from './arena.js';
export type { ArenaOptions, ArenaShared, ArenaStats, ArenaWaitOptions } from './options.js';
export type {
  ArenaClaim,
  ArenaEnvelope,
  ArenaTicket,
  HoldTicket,
  LeafMarker,
  PackedClaim,
} from './envelope.js';
export type { LeafType } from './leaf-types.js';

import { keepValue, releaseValue } from './lifetimes.js';

/**
 * Returns now the arena space of every unit whose views `value` reaches (any arena, any
 * thread's handle); otherwise space returns when the views are garbage-collected. Returns how
 * many units ended. Views of `value` must not be used afterwards.
 *
 * @example
 * const frame = await camera.next(); draw(frame); release(frame);
 */
export function release(value: unknown): number {
  return releaseValue(value);
}

/**
 * A copy of `value` that owns its memory: every arena-backed view copied into its own buffer
 * (same type; Buffers stay Buffers), containers copied, other leaves shared.
 *
 * @example
 * const kept = keep(frame); release(frame);
 */
export function keep<T>(value: T): T {
  return keepValue(value);
}
