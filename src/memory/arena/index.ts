/**
 * The arena component: what the rest of keel (and src/index.ts) imports. See docs/arena.md.
 */

export { Arena, ArenaUnit } from './arena.js';
export type { ArenaOptions, ArenaShared, ArenaStats, ArenaWaitOptions } from './options.js';
export type { ArenaEnvelope, ArenaTicket, LeafMarker } from './envelope.js';
export type { LeafType } from './leaf-types.js';
