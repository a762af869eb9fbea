// Reading an arena envelope in tests. Its layout is keel's own (src/memory/arena/envelope.ts):
// users only post it and restore it; the tests look inside to prove where each leaf went.
import type { ArenaEnvelope } from '../dist/memory/arena/index.js';
import { heldAt, holdCount, kPlaces, kShapeAt } from '../dist/memory/arena/envelope.js';

/** The value the envelope posts in place of the original (its large leaves taken out). */
export function postedValueOf(envelope: ArenaEnvelope): unknown {
  return envelope[0];
}

/** True when a unit was copied into for this envelope (some leaf crossed by copy into the arena). */
export function copiedIn(envelope: ArenaEnvelope): boolean {
  const numbers = envelope[2];
  return (numbers[heldAt(numbers)] ?? -1) >= 0;
}

/** How many units the envelope forwards by reference (one hold each). */
export function holdsOf(envelope: ArenaEnvelope): number {
  return holdCount(envelope);
}

/**
 * True for the general shape (leaves put back by (container, key) places, any nesting); false
 * for the compact shapes (the value is a leaf, or its leaves are own properties of it).
 */
export function isGeneralShape(envelope: unknown): boolean {
  return (envelope as ArenaEnvelope)[2][kShapeAt] === kPlaces;
}
