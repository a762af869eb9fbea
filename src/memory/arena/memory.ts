/**
 * The arena's engine over shared memory: unit slots, block reservation, counters. Every thread
 * holding the buffer builds its own `ArenaMemory` over it; all of them may call every method at
 * once (many writers, many readers).
 *
 * Concurrency, and why it survives a thread being killed at any instruction (a pool terminates
 * a worker on timeout or abort):
 * - Unit slots are lock-free: every step (free -> writing -> committed -> received -> freeing
 *   -> free) is one CAS on a 64-bit word holding state, owner and generation together.
 * - Returning blocks is lock-free: only the unit's winner of the `freeing` CAS clears them.
 * - Finding and claiming a run of free blocks takes a lock word (BLOCK_LOCK), because a
 *   lock-free claim costs one CAS per block (7 us for a 1.2 MB frame, measured, a fifth of
 *   the frame's memcpy) where the lock costs two atomics and a fill. The lock holds only a
 *   scan and a fill, never a wait. Nobody blocks on it: a writer that finds it taken spins
 *   for at most ~kLockSpins loads, then treats the arena as full for now (the try variant falls
 *   back to copying, the wait variant waits for the next free). The lock word holds the
 *   holder's handle id, so a holder that died inside is cleared by `reclaimOwner`, which also
 *   returns the blocks it had tagged: nothing stays stuck.
 * - Several holders: a received unit can be forwarded by reference (a view sent on to another
 *   thread). Each extra holder is a hold entry (state, owner and slot in one 64-bit word, like
 *   a unit slot) and the unit's reference count (primary + entries) says when it is free: the
 *   holder whose decrement reaches zero frees it. Only a holder adds a reference, so the count
 *   never rises from zero. The primary holder first moves the slot to `shared` (owner 0), so
 *   that a later reclaim of its handle cannot drop its reference twice. A hold entry names its
 *   owner, so a dead thread's holds are found and dropped by `reclaimOwner` as its units are.
 *   A thread killed between counting a reference and claiming its entry leaks that unit (the
 *   safe side: never a premature free).
 */

import { invalidArgument, KeelError } from '../../errors.js';
import {
  type ArenaLayout,
  computeLayout,
  encodeSlot,
  kArenaIdWord,
  kBlockBytesWord,
  kBlockCountWord,
  kBlockLockWord,
  kClosedWord,
  kFreeEpochWord,
  kHighWaterBlocksWord,
  kHoldFree,
  kHoldHeld,
  kHoldInFlight,
  kHoldRoverWord,
  kLayoutVersion,
  kLiveUnitsWord,
  kLockContendedWord,
  kMagic,
  kMagicWord,
  kMaxUnitsWord,
  kMinBytesWord,
  kNextHandleIdWord,
  kUnitCommitted,
  kUnitFree,
  kUnitFreeing,
  kUnitReceived,
  kUnitRoverWord,
  kUnitShared,
  kUnitWriting,
  kUsedBlocksWord,
  kVersionWord,
  encodeHold,
  holdGeneration,
  holdOwner,
  holdOwnerOf,
  holdSlot,
  holdState,
  nextGeneration,
  nextHoldGeneration,
  slotGeneration,
  slotOwner,
  slotState,
  type UnitState,
} from './layout.js';
import { wakeWord } from '../../platform/wait-word.js';
import { allocateHandableMemory, closeHandedMemory } from './handed-memory.js';

// About 20-50 us of spinning: far above a scan-and-fill, far below a scheduler time slice.
const kLockSpins = 4096;

export interface MemorySizes {
  readonly blockBytes: number;
  readonly blockCount: number;
  readonly maxUnits: number;
  readonly minBytes: number;
}

export class ArenaMemory {
  readonly buffer: SharedArrayBuffer;
  readonly layout: ArenaLayout;
  readonly header: Int32Array;
  readonly owners: Int32Array;
  readonly slots: BigUint64Array;
  /** Hold entries: extra holders of received units (views forwarded by reference). */
  readonly holds: BigUint64Array;
  /** Holders per unit slot: its primary holder plus its hold entries. */
  readonly refs: Int32Array;
  /** The data area, block 0 at index 0. */
  readonly data: Uint8Array;
  readonly arenaId: number;

  private constructor(buffer: SharedArrayBuffer, layout: ArenaLayout) {
    this.buffer = buffer;
    this.layout = layout;
    this.header = new Int32Array(buffer, 0, 32);
    this.owners = new Int32Array(buffer, layout.ownersOffsetBytes, layout.blockCount);
    this.slots = new BigUint64Array(buffer, layout.slotsOffsetBytes, layout.maxUnits);
    this.holds = new BigUint64Array(buffer, layout.holdsOffsetBytes, layout.maxUnits);
    this.refs = new Int32Array(buffer, layout.refsOffsetBytes, layout.maxUnits);
    this.data = new Uint8Array(
      buffer,
      layout.dataOffsetBytes,
      layout.blockBytes * layout.blockCount,
    );
    this.arenaId = this.header[kArenaIdWord] ?? 0;
  }

  /** Allocates and initialises a new arena buffer. Creator side, once. */
  static create(sizes: MemorySizes): ArenaMemory {
    const layout = computeLayout(sizes.blockBytes, sizes.blockCount, sizes.maxUnits);
    // Memory a child process can map too (handed over at fork), when the native layer is loaded.
    const buffer = allocateHandableMemory(layout.totalBytes, 'keel-arena');
    const header = new Int32Array(buffer, 0, 32);
    header[kMagicWord] = kMagic;
    header[kVersionWord] = kLayoutVersion;
    header[kBlockBytesWord] = sizes.blockBytes;
    header[kBlockCountWord] = sizes.blockCount;
    header[kMaxUnitsWord] = sizes.maxUnits;
    // Below 2^30: a small integer to V8, so the numbers that carry it stay unboxed.
    header[kArenaIdWord] = (Math.random() * 0x3fffffff) | 1;
    header[kMinBytesWord] = sizes.minBytes;
    return new ArenaMemory(buffer, layout);
  }

  /** Builds a view over a buffer made by `create` (on any thread); validates its header. */
  static attach(buffer: unknown): ArenaMemory {
    if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength < 128) {
      throw invalidArgument('shared.buffer', 'the SharedArrayBuffer of an arena', buffer);
    }
    const header = new Int32Array(buffer, 0, 32);
    if (header[kMagicWord] !== kMagic || header[kVersionWord] !== kLayoutVersion) {
      throw invalidArgument('shared.buffer', `an arena buffer of layout ${kLayoutVersion}`, buffer);
    }
    const layout = computeLayout(
      header[kBlockBytesWord] ?? 0,
      header[kBlockCountWord] ?? 0,
      header[kMaxUnitsWord] ?? 0,
    );
    if (layout.totalBytes !== buffer.byteLength) {
      throw invalidArgument('shared.buffer', 'an intact arena buffer', buffer);
    }
    return new ArenaMemory(buffer, layout);
  }

  get minBytes(): number {
    return this.header[kMinBytesWord] ?? 0;
  }

  /** A fresh id for one handle (one thread's `Arena`). Never 0. */
  newHandleId(): number {
    return Atomics.add(this.header, kNextHandleIdWord, 1) + 1;
  }

  get closed(): boolean {
    return Atomics.load(this.header, kClosedWord) !== 0;
  }

  /** Closes the arena for every handle and wakes every waiting writer. */
  close(): void {
    Atomics.store(this.header, kClosedWord, 1); // publishes: no new units, on every thread
    this.wakeWriters();
    // No child started from now on can map it; those that did keep their mapping.
    closeHandedMemory(this.buffer);
  }

  /** The current free epoch: read before a failed reservation, then wait for it to change. */
  epoch(): number {
    return Atomics.load(this.header, kFreeEpochWord);
  }

  wakeWriters(): void {
    Atomics.add(this.header, kFreeEpochWord, 1); // publishes: space returned (or closing)
    wakeWord(this.header, kFreeEpochWord);
  }

  count(word: number, delta: number): void {
    Atomics.add(this.header, word, delta);
  }

  read(word: number): number {
    return Atomics.load(this.header, word);
  }

  /** Free blocks right now (may be stale at once). */
  freeBlocks(): number {
    return this.layout.blockCount - Atomics.load(this.header, kUsedBlocksWord);
  }

  // -------------------------------------------------------------------------------------------
  // Unit slots. Writer side: acquire, commit, abort. Reader side: accept, end. Any side: reclaim.

  /** Takes a free slot for a unit being written by `owner`; -1 when every slot is taken. */
  acquireSlot(owner: number): number {
    const max = this.layout.maxUnits;
    if (Atomics.load(this.header, kLiveUnitsWord) >= max) return -1;
    const rover = Atomics.load(this.header, kUnitRoverWord) % max;
    for (let step = 0; step < max; step++) {
      const slot = (rover + step) % max;
      const word = Atomics.load(this.slots, slot);
      if (slotState(word) !== kUnitFree) continue;
      const claimed = encodeSlot(kUnitWriting, owner, slotGeneration(word));
      if (Atomics.compareExchange(this.slots, slot, word, claimed) !== word) continue;
      Atomics.store(this.refs, slot, 1); // the writer, then the reader that accepts it
      Atomics.store(this.header, kUnitRoverWord, (slot + 1) % max);
      Atomics.add(this.header, kLiveUnitsWord, 1);
      return slot;
    }
    return -1;
  }

  /** writing -> committed. Returns the generation the ticket must carry. */
  commitSlot(slot: number, owner: number): number {
    const word = Atomics.load(this.slots, slot);
    const committed = encodeSlot(kUnitCommitted, owner, slotGeneration(word));
    if (
      slotState(word) !== kUnitWriting ||
      slotOwner(word) !== owner ||
      Atomics.compareExchange(this.slots, slot, word, committed) !== word
    ) {
      throw new KeelError('ERR_CLOSED', 'arena unit was reclaimed while it was being written');
    }
    return slotGeneration(word);
  }

  /** committed -> received by `owner` (the reader). False when the unit is gone or taken. */
  acceptSlot(slot: number, generation: number, owner: number): boolean {
    const word = Atomics.load(this.slots, slot);
    if (slotState(word) !== kUnitCommitted || slotGeneration(word) !== generation) return false;
    const received = encodeSlot(kUnitReceived, owner, generation);
    return Atomics.compareExchange(this.slots, slot, word, received) === word;
  }

  /**
   * The primary holder lets go of a committed or received unit (a reader ending what it
   * restored, a writer discarding what was never received when `committedOnly`). Its blocks
   * return unless hold entries still reference it. False when it had let go already.
   */
  endSlot(
    slot: number,
    generation: number,
    regions: readonly number[] | null,
    committedOnly = false,
    regionsAt = 0,
    regionPairs = regions === null ? 0 : (regions.length - regionsAt) >> 1,
  ): boolean {
    for (;;) {
      const word = Atomics.load(this.slots, slot);
      const state = slotState(word);
      const held = state === kUnitCommitted || (state === kUnitReceived && !committedOnly);
      if (!held || slotGeneration(word) !== generation) return false;
      const shared = encodeSlot(kUnitShared, 0, generation);
      if (Atomics.compareExchange(this.slots, slot, word, shared) === word) break;
    }
    const freed = this.#dropReference(slot, generation);
    if (freed !== null) {
      this.#finish(slot, freed, this.#clearBlocks(slot, regions, regionsAt, regionPairs));
    }
    return true;
  }

  /**
   * Adds a holder to a unit that `owner` holds (it must: only a holder may add one). Returns
   * the hold entry and its generation, or null when every entry is taken (copy instead).
   */
  addHold(slot: number, owner: number): { entry: number; generation: number } | null {
    Atomics.add(this.refs, slot, 1); // first: a thread killed before the claim leaks, never frees early
    const max = this.layout.maxUnits;
    const rover = Atomics.load(this.header, kHoldRoverWord) % max;
    for (let step = 0; step < max; step++) {
      const entry = (rover + step) % max;
      const word = Atomics.load(this.holds, entry);
      if (holdState(word) !== kHoldFree) continue;
      const generation = holdGeneration(word);
      const claimed = encodeHold(kHoldInFlight, owner, slot, generation);
      if (Atomics.compareExchange(this.holds, entry, word, claimed) !== word) continue;
      Atomics.store(this.header, kHoldRoverWord, (entry + 1) % max);
      return { entry, generation };
    }
    Atomics.sub(this.refs, slot, 1); // cannot reach zero: the caller still holds the unit
    return null;
  }

  /** in flight -> held by `owner` (the receiver). False when the hold is gone (reclaimed). */
  acceptHold(entry: number, generation: number, owner: number): boolean {
    const word = Atomics.load(this.holds, entry);
    if (holdState(word) !== kHoldInFlight || holdGeneration(word) !== generation) return false;
    const held = encodeHold(kHoldHeld, owner, holdSlot(word), generation);
    return Atomics.compareExchange(this.holds, entry, word, held) === word;
  }

  /**
   * Drops a hold that `owner` has: `inFlight` for a sender taking back one never received,
   * else one it received. The unit's blocks return if it was the last holder. False when the
   * hold had ended already (dropped, or reclaimed with its owner).
   */
  dropHold(
    entry: number,
    generation: number,
    owner: number,
    inFlight: boolean,
    regions: readonly number[] | null,
    regionsAt = 0,
    regionPairs = regions === null ? 0 : (regions.length - regionsAt) >> 1,
  ): boolean {
    const state = inFlight ? kHoldInFlight : kHoldHeld;
    const word = Atomics.load(this.holds, entry);
    if (
      holdState(word) !== state ||
      holdGeneration(word) !== generation ||
      holdOwner(word) !== holdOwnerOf(owner)
    ) {
      return false;
    }
    const free = encodeHold(kHoldFree, 0, 0, nextHoldGeneration(generation));
    if (Atomics.compareExchange(this.holds, entry, word, free) !== word) return false;
    const slot = holdSlot(word);
    const freed = this.#dropReference(slot, null);
    if (freed !== null) {
      this.#finish(slot, freed, this.#clearBlocks(slot, regions, regionsAt, regionPairs));
    }
    return true;
  }

  /**
   * Takes one reference off a unit. The holder that takes the last one seizes the slot (it is
   * `shared` by then: the primary holder moved it there before dropping its own) and gets its
   * word back to finish; null otherwise.
   */
  #dropReference(slot: number, generation: number | null): bigint | null {
    if (Atomics.sub(this.refs, slot, 1) !== 1) return null;
    return this.#seize(slot, (state, generationNow) => {
      return state === kUnitShared && (generation === null || generationNow === generation);
    });
  }

  /** Ends a unit still being written by `owner`. */
  abortSlot(slot: number, owner: number, regions: readonly number[]): void {
    const word = this.#seize(slot, (state, _generation, ownerNow) => {
      return state === kUnitWriting && ownerNow === owner;
    });
    if (word !== null) {
      this.#finish(slot, word, this.#clearBlocks(slot, regions, 0, regions.length >> 1));
    }
  }

  /**
   * Lets go of everything `owner` still holds: units it is writing, units it committed that
   * nobody accepted, units it received, hold entries it sent or received. Units left without
   * holders are freed. Only for a handle whose thread has exited: a live owner would keep
   * using the space. Returns how many units and holds it let go of.
   */
  reclaimOwner(owner: number): number {
    const seized = new Map<number, bigint>();
    let dropped = 0;
    for (let slot = 0; slot < this.layout.maxUnits; slot++) {
      const word = Atomics.load(this.slots, slot);
      if (slotOwner(word) !== owner) continue;
      const state = slotState(word);
      if (state === kUnitWriting) {
        const writing = this.#seize(slot, (stateNow, _generation, ownerNow) => {
          return stateNow === kUnitWriting && ownerNow === owner;
        });
        if (writing !== null) {
          seized.set(slot, writing);
          dropped++;
        }
      } else if (state === kUnitCommitted || state === kUnitReceived) {
        const generation = slotGeneration(word);
        const shared = encodeSlot(kUnitShared, 0, generation);
        if (Atomics.compareExchange(this.slots, slot, word, shared) !== word) continue;
        dropped++;
        const freed = this.#dropReference(slot, generation);
        if (freed !== null) seized.set(slot, freed);
      }
    }
    const ownerBits = holdOwnerOf(owner);
    for (let entry = 0; entry < this.layout.maxUnits; entry++) {
      const word = Atomics.load(this.holds, entry);
      if (holdState(word) === kHoldFree || holdOwner(word) !== ownerBits) continue;
      const free = encodeHold(kHoldFree, 0, 0, nextHoldGeneration(holdGeneration(word)));
      if (Atomics.compareExchange(this.holds, entry, word, free) !== word) continue;
      dropped++;
      const slot = holdSlot(word);
      const freed = this.#dropReference(slot, null);
      if (freed !== null) seized.set(slot, freed);
    }
    // A holder that died inside the block lock: its partial claim carries its slot's tag.
    const brokeLock = Atomics.compareExchange(this.header, kBlockLockWord, owner, 0) === owner;
    if (brokeLock) this.wakeWriters();
    if (seized.size === 0) return dropped;
    let clearedBlocks = 0;
    const owners = this.owners;
    for (let block = 0; block < owners.length; block++) {
      const tag = owners[block] ?? 0;
      if (tag !== 0 && seized.has(tag - 1)) {
        Atomics.store(owners, block, 0);
        clearedBlocks++;
      }
    }
    Atomics.sub(this.header, kUsedBlocksWord, clearedBlocks);
    for (const [slot, word] of seized) this.#finish(slot, word, 0);
    this.wakeWriters();
    return dropped;
  }

  /** CAS a slot into `freeing` when `accepts` its current word; the winner frees it. */
  #seize(
    slot: number,
    accepts: (state: UnitState, generation: number, owner: number) => boolean,
  ): bigint | null {
    for (;;) {
      const word = Atomics.load(this.slots, slot);
      const generation = slotGeneration(word);
      if (!accepts(slotState(word), generation, slotOwner(word))) return null;
      const freeing = encodeSlot(kUnitFreeing, slotOwner(word), generation);
      if (Atomics.compareExchange(this.slots, slot, word, freeing) === word) return word;
    }
  }

  /**
   * Frees the slot. Wakes waiting writers only when space really returned (blocks, or a slot
   * of a full table): a writer aborting an attempt that reserved nothing must not wake the
   * others, or waiting writers would wake one another forever (a livelock, seen in the stress
   * test).
   */
  #finish(slot: number, seizedWord: bigint, clearedBlocks: number): void {
    if (clearedBlocks > 0) Atomics.sub(this.header, kUsedBlocksWord, clearedBlocks);
    const free = encodeSlot(kUnitFree, 0, nextGeneration(slotGeneration(seizedWord)));
    Atomics.store(this.refs, slot, 0);
    Atomics.store(this.slots, slot, free); // publishes: the slot may be taken again
    const unitsBefore = Atomics.sub(this.header, kLiveUnitsWord, 1);
    if (clearedBlocks > 0 || unitsBefore >= this.layout.maxUnits) this.wakeWriters();
  }

  // -------------------------------------------------------------------------------------------
  // Blocks.

  /**
   * Claims `count` contiguous free blocks for `slot` (held by `owner`): the first block index,
   * or -1 when there is no such run right now, or the block lock stays taken. Never blocks.
   */
  reserveBlocks(slot: number, owner: number, count: number): number {
    const total = this.layout.blockCount;
    if (count <= 0 || count > total || !this.#lock(owner)) return -1;
    let start: number;
    try {
      // Lowest address first: a run freed a moment ago is taken again while its bytes are
      // still in the CPU cache (a 1.2 MB copy into cold memory costs twice as much, measured).
      start = this.#findRun(count, 0, total);
      if (start >= 0) this.owners.fill(slot + 1, start, start + count);
    } finally {
      this.#unlock(owner);
    }
    if (start >= 0) this.#addUsed(count);
    return start;
  }

  #lock(owner: number): boolean {
    const header = this.header;
    for (let spin = 0; spin < kLockSpins; spin++) {
      if (
        Atomics.load(header, kBlockLockWord) === 0 &&
        Atomics.compareExchange(header, kBlockLockWord, 0, owner) === 0
      ) {
        return true;
      }
    }
    Atomics.store(header, kLockContendedWord, 1); // tells the holder to wake waiting writers
    return false;
  }

  #unlock(owner: number): void {
    Atomics.compareExchange(this.header, kBlockLockWord, owner, 0); // publishes the tags filled
    if (
      Atomics.load(this.header, kLockContendedWord) !== 0 &&
      Atomics.exchange(this.header, kLockContendedWord, 0) !== 0
    ) {
      this.wakeWriters();
    }
  }

  /** A run of `count` free blocks inside [from, limit), or -1. Called under the lock. */
  #findRun(count: number, from: number, limit: number): number {
    const owners = this.owners;
    let start = from;
    while (start + count <= limit) {
      // Check the candidate window from its end: a taken block lets the search jump past it.
      let taken = -1;
      for (let block = start + count - 1; block >= start; block--) {
        if (owners[block] !== 0) {
          taken = block;
          break;
        }
      }
      if (taken < 0) return start;
      start = taken + 1;
    }
    return -1;
  }

  /**
   * Clears the blocks of a unit this thread is freeing (it won the `freeing` CAS): its regions
   * (`regionPairs` [start, count] pairs from `regions[regionsAt]`) when known, else every block
   * carrying its tag. Returns blocks cleared.
   */
  #clearBlocks(
    slot: number,
    regions: readonly number[] | null,
    regionsAt: number,
    regionPairs: number,
  ): number {
    const owners = this.owners;
    const tag = slot + 1;
    let cleared = 0;
    if (regions === null) {
      for (let block = 0; block < owners.length; block++) {
        if (owners[block] === tag) {
          Atomics.store(owners, block, 0);
          cleared++;
        }
      }
      return cleared;
    }
    const regionsEnd = Math.min(regions.length, regionsAt + 2 * regionPairs);
    for (let index = regionsAt; index + 1 < regionsEnd; index += 2) {
      const start = regions[index] ?? -1;
      const end = start + (regions[index + 1] ?? 0);
      // Only the winner of this slot's `freeing` CAS gets here, so the run is still ours whole.
      if (start < 0 || end > owners.length || owners[start] !== tag || owners[end - 1] !== tag)
        continue;
      owners.fill(0, start, end);
      cleared += end - start;
    }
    return cleared;
  }

  #addUsed(count: number): void {
    const used = Atomics.add(this.header, kUsedBlocksWord, count) + count;
    let high = Atomics.load(this.header, kHighWaterBlocksWord);
    while (used > high) {
      const seen = Atomics.compareExchange(this.header, kHighWaterBlocksWord, high, used);
      if (seen === high) break;
      high = seen;
    }
  }
}
