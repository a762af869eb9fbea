/**
 * The writer side of one unit: a slot taken on the first reservation, the regions reserved
 * since. Lives on the writing thread only; never shared.
 */

import { KeelError } from '../../errors.js';
import type { ArenaTicket } from './options.js';
import type { ArenaMemory } from './memory.js';

type WriterState = 'open' | 'committed' | 'aborted';

export class UnitWriter {
  readonly #memory: ArenaMemory;
  readonly #owner: number;
  #slot = -1;
  #state: WriterState = 'open';
  readonly #regions: number[] = [];
  #reservedBytes = 0;

  constructor(memory: ArenaMemory, owner: number) {
    this.#memory = memory;
    this.#owner = owner;
  }

  get state(): WriterState {
    return this.#state;
  }

  /** Bytes reserved so far, rounded up to whole blocks. */
  get reservedBytes(): number {
    return this.#reservedBytes;
  }

  /**
   * Reserves `byteLength` bytes starting on a block boundary (64-byte aligned at least).
   * Returns the byte offset in the data area, or -1 when the arena has no room right now.
   * Never blocks.
   */
  reserve(byteLength: number): number {
    this.#assertOpen();
    const memory = this.#memory;
    const blocks = Math.max(1, Math.ceil(byteLength / memory.layout.blockBytes));
    if (this.#slot < 0) {
      this.#slot = memory.acquireSlot(this.#owner);
      if (this.#slot < 0) return -1;
    }
    const firstBlock = memory.reserveBlocks(this.#slot, this.#owner, blocks);
    if (firstBlock < 0) return -1;
    this.#regions.push(firstBlock, blocks);
    this.#reservedBytes += blocks * memory.layout.blockBytes;
    return firstBlock * memory.layout.blockBytes;
  }

  /** Publishes the unit; the ticket is what the receiver needs to read and end it. */
  commit(): ArenaTicket {
    const arenaId = this.#memory.arenaId;
    const generation = this.#publish();
    if (generation < 0) return { arenaId, slot: -1, generation: 0, regions: [] };
    return { arenaId, slot: this.#slot, generation, regions: this.#regions.slice() };
  }

  /** [firstBlock, blockCount] pairs reserved so far. */
  get regionPairs(): number {
    return this.#regions.length >> 1;
  }

  /**
   * Like `commit`, writing the unit triple (envelope.ts) into `numbers` from index `at`
   * instead: 3 + 2 * regionPairs entries (3 when it reserved nothing). Returns the next index.
   */
  commitInto(numbers: number[], at: number): number {
    const generation = this.#publish();
    if (generation < 0) return writeNoUnit(numbers, at);
    numbers[at] = this.#slot;
    numbers[at + 1] = generation;
    numbers[at + 2] = this.#regions.length >> 1;
    let next = at + 3;
    for (const region of this.#regions) numbers[next++] = region;
    return next;
  }

  /** writing -> committed; the unit's generation, or -1 when it reserved nothing. */
  #publish(): number {
    this.#assertOpen();
    this.#state = 'committed';
    if (this.#slot < 0) return -1;
    if (this.#regions.length === 0) {
      this.#memory.abortSlot(this.#slot, this.#owner, []);
      return -1;
    }
    return this.#memory.commitSlot(this.#slot, this.#owner);
  }

  /** Returns everything reserved; the unit is over. A no-op once committed or aborted. */
  abort(): void {
    if (this.#state !== 'open') return;
    this.#state = 'aborted';
    if (this.#slot >= 0) this.#memory.abortSlot(this.#slot, this.#owner, this.#regions);
  }

  #assertOpen(): void {
    if (this.#state !== 'open') {
      throw new KeelError('ERR_INVALID_ARGUMENT', `arena unit is already ${this.#state}`);
    }
  }
}

/** Writes the unit triple of "no unit" at `at`; returns the next index. */
export function writeNoUnit(numbers: number[], at: number): number {
  numbers[at] = -1;
  numbers[at + 1] = 0;
  numbers[at + 2] = 0;
  return at + 3;
}
