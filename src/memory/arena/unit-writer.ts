/**
 * The writer side of one unit: a slot taken on the first reservation, the regions reserved
 * since. Lives on the writing thread only; never shared.
 */

import { KeelError } from '../../errors.js';
import type { ArenaTicket } from './envelope.js';
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
    this.#assertOpen();
    this.#state = 'committed';
    const memory = this.#memory;
    if (this.#slot < 0) return { arenaId: memory.arenaId, slot: -1, generation: 0, regions: [] };
    if (this.#regions.length === 0) {
      memory.abortSlot(this.#slot, this.#owner, []);
      return { arenaId: memory.arenaId, slot: -1, generation: 0, regions: [] };
    }
    const generation = memory.commitSlot(this.#slot, this.#owner);
    return {
      arenaId: memory.arenaId,
      slot: this.#slot,
      generation,
      regions: this.#regions.slice(),
    };
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
