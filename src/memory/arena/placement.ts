/**
 * The writer side's one placement step, whichever finder found the groups (simple-value.ts,
 * general-value.ts): each group crosses by reference (one more hold on a unit this thread
 * holds, once per unit) or is copied into one new unit; then the bytes are copied and the
 * envelope's numbers written (envelope.ts), sized up front. Nothing is copied before every group
 * has its place, so an attempt given up (`abort`) has taken nothing.
 *
 * What must stay cheap here is a by-reference hop of one frame: the settled pool round trip and
 * an in-place stream are made of them (bench/arena-hop.mjs). It allocates the numbers and what
 * each hold needs, nothing per group: placement scratch is kept per engine and reused by every
 * value (counted, never truncated: `length = 0` would drop the storage); three fresh arrays per
 * value were a third of what such a hop allocated.
 */
import { wireArray } from '../../values/wire-array.js';
import { copyBytes } from '../copy-bytes.js';
import {
  afterUnit,
  kArenaIdAt,
  kEnvelopeTag,
  kGroupCountAt,
  kHeaderEntries,
  kShapeAt,
} from './envelope.js';
import type { HeldParts } from './held-part.js';
import { kLeafAlignBytes } from './layout.js';
import type { UnitLease } from './lifetimes.js';
import type { ArenaMemory } from './memory.js';
import { UnitWriter, writeNoUnit } from './unit-writer.js';

/** Bytes of one buffer that cross as one region: one leaf, or views that overlap. */
export interface LeafGroup {
  /** The memory the group's bytes are in. */
  readonly buffer: ArrayBufferLike;
  /** The group's first byte in `buffer` and the byte after its last. */
  readonly start: number;
  readonly end: number;
  /** Restored as one owned ArrayBuffer (an ArrayBuffer leaf is in it), not as views. */
  readonly copyOut: boolean;
  /** When `buffer` is a pin this thread holds: its lease (the group may cross by reference). */
  readonly lease: UnitLease | null;
}

/** A hold taken for this value: on the unit triple at `unitAt` of `numbers` (a lease's). */
interface HoldTaken {
  readonly numbers: readonly number[];
  readonly unitAt: number;
  readonly entry: number;
  readonly generation: number;
}

/** Where a copied group's region starts in its buffer: 64-aligned, so element alignment holds. */
export function alignedStart(start: number): number {
  return Math.floor(start / kLeafAlignBytes) * kLeafAlignBytes;
}

export class Placement {
  readonly #memory: ArenaMemory;
  readonly #handleId: number;
  readonly #held: HeldParts;
  /**
   * Per placed group: its data-area offset, its first byte in its buffer, 1 if copied in. Plain
   * arrays of small integers, not Float64Arrays: a value read from a Float64Array is a double,
   * and one double stored into a wire array turns the elements of every array made where wire
   * arrays are made into doubles (V8 tracks one elements kind per allocation site), after which
   * each posted value and envelope is converted back on its first object store: a reallocation
   * per array, on every hop (docs/design-notes.md, "One wire form, one path").
   */
  readonly #offsets: number[] = [];
  readonly #starts: number[] = [];
  readonly #copied: number[] = [];
  #count = 0;
  readonly #holds: HoldTaken[] = [];
  #holdCount = 0;
  #writer: UnitWriter | undefined;
  #busy = false;

  constructor(memory: ArenaMemory, handleId: number, held: HeldParts) {
    this.#memory = memory;
    this.#handleId = handleId;
    this.#held = held;
  }

  /**
   * Between `begin` and `finish` or `abort`. A getter run while one value is being placed may
   * offload another: that one needs a placement of its own.
   */
  get busy(): boolean {
    return this.#busy;
  }

  /** Starts placing one value's groups (the previous value's are done or aborted). */
  begin(): void {
    this.#busy = true;
    this.#count = 0;
    this.#holdCount = 0;
    this.#writer = undefined;
  }

  /**
   * Places `group` as the next group of the envelope: by reference when it lies in a unit this
   * thread holds and a hold entry is free, else in a region of the value's new unit. False,
   * with nothing taken for it, when there is no room for it right now (or it is larger than
   * the arena). Never blocks.
   */
  place(group: LeafGroup): boolean {
    const memory = this.#memory;
    const start = alignedStart(group.start);
    let at = -1;
    let copied = 0;
    const unitAt = this.#unitHolding(group, start);
    if (unitAt >= 0 && this.#holdOnce(group.lease!.numbers, unitAt)) {
      at = start - memory.layout.dataOffsetBytes;
    } else if (group.end - start <= memory.data.byteLength) {
      this.#writer ??= new UnitWriter(memory, this.#handleId);
      at = this.#writer.reserve(group.end - start);
      copied = 1;
    }
    if (at < 0) return false;
    const index = this.#count;
    this.#offsets[index] = at;
    this.#starts[index] = start;
    this.#copied[index] = copied;
    this.#count = index + 1;
    return true;
  }

  /** True when `group` would cross by reference (a hold entry permitting): no space needed. */
  byReference(group: LeafGroup): boolean {
    return this.#unitHolding(group, alignedStart(group.start)) >= 0;
  }

  /** Where group `index` starts in its buffer: a leaf's byteOffset is its start minus this. */
  startOf(index: number): number {
    return this.#starts[index]!;
  }

  /** Gives back everything placed since `begin` (nothing was copied yet). */
  abort(): void {
    this.#writer?.abort();
    this.#writer = undefined;
    for (let index = 0; index < this.#holdCount; index++) this.#dropHold(this.#holds[index]!);
    this.#holdCount = 0;
    this.#count = 0;
    this.#busy = false;
  }

  /**
   * Copies the bytes of the groups placed by copy (`groups` in the order they were placed),
   * commits the unit and returns the envelope's numbers with `leafCount` quadruples left for
   * the caller to write from `leavesAt(groups.length)`.
   */
  finish(groups: readonly LeafGroup[], shape: number, leafCount: number): number[] {
    const count = this.#count;
    this.#copyIn(groups);
    const writer = this.#writer;
    // Header, groups, leaves, the unit triple, the hold count, then each hold.
    let size = leavesAt(count) + 4 * leafCount + 3 + 2 * (writer?.regionPairs ?? 0) + 1;
    for (let index = 0; index < this.#holdCount; index++) {
      const { numbers, unitAt } = this.#holds[index]!;
      size += 2 + afterUnit(numbers, unitAt) - unitAt;
    }
    const numbers = wireArray<number>(size);
    numbers[0] = kEnvelopeTag;
    numbers[kArenaIdAt] = this.#memory.arenaId;
    numbers[kShapeAt] = shape;
    numbers[kGroupCountAt] = count;
    let at = kHeaderEntries;
    for (let index = 0; index < count; index++) {
      numbers[at++] = this.#offsets[index]!;
      numbers[at++] = groups[index]!.end - this.#starts[index]!;
      numbers[at++] = groups[index]!.copyOut ? 1 : 0;
    }
    numbers[at++] = leafCount;
    at += 4 * leafCount;
    try {
      at = writer === undefined ? writeNoUnit(numbers, at) : writer.commitInto(numbers, at);
    } catch (error) {
      // The unit was reclaimed while being written: its holds go back too.
      this.abort();
      throw error;
    }
    this.#writeHolds(numbers, at);
    this.#writer = undefined;
    this.#holdCount = 0;
    this.#busy = false;
    return numbers;
  }

  /** Copies in the bytes of the groups placed by copy. */
  #copyIn(groups: readonly LeafGroup[]): void {
    const data = this.#memory.data;
    for (let index = 0; index < this.#count; index++) {
      if (this.#copied[index] === 0) continue;
      const group = groups[index]!;
      const at = this.#offsets[index]!;
      const start = this.#starts[index]!;
      const byteLength = group.end - start;
      copyBytes(
        data.subarray(at, at + byteLength),
        new Uint8Array(group.buffer, start, byteLength),
      );
    }
  }

  /** Writes the hold count, then each hold: entry, generation, the held unit's triple. */
  #writeHolds(numbers: number[], from: number): void {
    let at = from;
    numbers[at++] = this.#holdCount;
    for (let index = 0; index < this.#holdCount; index++) {
      const hold = this.#holds[index]!;
      numbers[at++] = hold.entry;
      numbers[at++] = hold.generation;
      const end = afterUnit(hold.numbers, hold.unitAt);
      for (let unit = hold.unitAt; unit < end; unit++) numbers[at++] = hold.numbers[unit]!;
    }
  }

  /**
   * Where, in the held part of the lease `group` was received with, the unit triple is whose
   * blocks contain the group: a group of a pin this thread still holds. -1 for any other.
   */
  #unitHolding(group: LeafGroup, start: number): number {
    const lease = group.lease;
    if (lease === null || lease.released || group.copyOut) return -1;
    const dataStart = this.#memory.layout.dataOffsetBytes;
    return this.#held.unitIn(lease, start - dataStart, group.end - dataStart);
  }

  /** One hold per unit however many groups lie in it; false when no hold entry is free. */
  #holdOnce(numbers: readonly number[], unitAt: number): boolean {
    const slot = numbers[unitAt]!;
    const holds = this.#holds;
    const holdCount = this.#holdCount;
    for (let index = 0; index < holdCount; index++) {
      const hold = holds[index]!;
      if (hold.numbers[hold.unitAt] === slot) return true;
    }
    const hold = this.#memory.addHold(slot, this.#handleId);
    if (hold === null) return false;
    holds[holdCount] = { numbers, unitAt, entry: hold.entry, generation: hold.generation };
    this.#holdCount = holdCount + 1;
    return true;
  }

  #dropHold({ numbers, unitAt, entry, generation }: HoldTaken): void {
    const regionPairs = numbers[unitAt + 2] ?? 0;
    this.#memory.dropHold(
      entry,
      generation,
      this.#handleId,
      true,
      numbers,
      unitAt + 3,
      regionPairs,
    );
  }
}

/** Where the leaf quadruples of an envelope of `groupCount` groups start. */
export function leavesAt(groupCount: number): number {
  return kHeaderEntries + 3 * groupCount + 1;
}
