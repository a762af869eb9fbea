/**
 * What one thread does with the held part of an envelope's numbers (envelope.ts): the unit
 * triple and the holds a receiver takes on, gives back when its views go, or a sender gives back
 * when the value was never received. Works on the numbers in place: a lease keeps the very
 * array its value arrived with, and nothing here allocates. The unit protocol's receiver half
 * (`acceptUnit`, `endUnit`) runs here too, on a ticket written as a held part (`ticketHeldPart`).
 *
 * Which side calls what: a receiver `accept`s once, then `end`s once (its lease, lifetimes.ts);
 * a sender whose post failed `discard`s. None of them blocks; each step is one CAS on a unit
 * slot or hold entry (memory.ts argues why that survives a thread killed at any instruction).
 */
import { invalidArgument, KeelError } from '../../errors.js';
import { afterUnit } from './envelope.js';
import type { UnitLease } from './lifetimes.js';
import type { ArenaMemory } from './memory.js';

export class HeldParts {
  readonly #memory: ArenaMemory;
  readonly #handleId: number;

  constructor(memory: ArenaMemory, handleId: number) {
    this.#memory = memory;
    this.#handleId = handleId;
  }

  /**
   * Receiver side: accepts the unit (committed -> received by this handle) and the holds (in
   * flight -> held) of the held part at `at`. Throws, having let go of what it took, when one
   * of them is gone or does not belong to this arena.
   */
  accept(numbers: readonly number[], at: number): void {
    const memory = this.#memory;
    const slot = this.#checkedSlot(numbers, at);
    if (slot >= 0 && !memory.acceptSlot(slot, numbers[at + 1]!, this.#handleId)) {
      throw new KeelError(
        'ERR_INVALID_ARGUMENT',
        `arena unit ${slot} is gone: it was restored already, or reclaimed after its writer exited`,
      );
    }
    let position = afterUnit(numbers, at);
    const count = numbers[position++] ?? 0;
    for (let index = 0; index < count; index++) {
      const entry = numbers[position] ?? -1;
      const validEntry = entry >= 0 && entry < memory.layout.maxUnits;
      if (!validEntry || !this.#validSlot(numbers, position + 2)) {
        this.end(numbers, at, index);
        throw invalidArgument('envelope.holds', 'hold tickets of this arena', entry);
      }
      if (!memory.acceptHold(entry, numbers[position + 1] ?? 0, this.#handleId)) {
        this.end(numbers, at, index);
        throw new KeelError(
          'ERR_INVALID_ARGUMENT',
          `arena hold ${entry} is gone: it was restored already, or reclaimed after its sender exited`,
        );
      }
      position = afterUnit(numbers, position + 2);
    }
  }

  /**
   * Receiver side: lets go of the unit and of the first `holdLimit` holds of the part at `at`.
   * False when none of them was still held (ended already, or reclaimed).
   */
  end(numbers: readonly number[], at: number, holdLimit = Infinity): boolean {
    const memory = this.#memory;
    const slot = numbers[at] ?? -1;
    let ended =
      slot >= 0 && memory.endSlot(slot, numbers[at + 1]!, numbers, false, at + 3, numbers[at + 2]);
    let position = afterUnit(numbers, at);
    const count = Math.min(numbers[position++] ?? 0, holdLimit);
    for (let index = 0; index < count; index++) {
      const unitAt = position + 2;
      const entry = numbers[position] ?? -1;
      const generation = numbers[position + 1] ?? 0;
      const regionPairs = numbers[unitAt + 2];
      if (
        memory.dropHold(entry, generation, this.#handleId, false, numbers, unitAt + 3, regionPairs)
      ) {
        ended = true;
      }
      position = afterUnit(numbers, unitAt);
    }
    return ended;
  }

  /**
   * Sender side: gives back what a value packed here holds that was never received (its unit
   * if still committed, its holds still in flight). False when nothing was left to give back.
   */
  discard(numbers: readonly number[], at: number): boolean {
    const memory = this.#memory;
    let gaveBack = false;
    const slot = this.#checkedSlot(numbers, at);
    if (slot >= 0) {
      gaveBack = memory.endSlot(slot, numbers[at + 1]!, numbers, true, at + 3, numbers[at + 2]);
    }
    let position = afterUnit(numbers, at);
    const count = numbers[position++] ?? 0;
    for (let index = 0; index < count; index++) {
      const unitAt = position + 2;
      const entry = numbers[position] ?? -1;
      const generation = numbers[position + 1] ?? 0;
      const regionPairs = numbers[unitAt + 2];
      if (
        entry >= 0 &&
        entry < memory.layout.maxUnits &&
        this.#validSlot(numbers, unitAt) &&
        memory.dropHold(entry, generation, this.#handleId, true, numbers, unitAt + 3, regionPairs)
      ) {
        gaveBack = true;
      }
      position = afterUnit(numbers, unitAt);
    }
    return gaveBack;
  }

  /**
   * Where, in `lease`'s held part, the unit triple is whose blocks contain data bytes
   * [first, last); -1 when none does (or the lease is another arena's).
   */
  unitIn(lease: UnitLease, first: number, last: number): number {
    if (lease.owner.arenaId !== this.#memory.arenaId) return -1;
    const { numbers } = lease;
    const blockBytes = this.#memory.layout.blockBytes;
    let unitAt = lease.heldAt;
    if ((numbers[unitAt] ?? -1) >= 0 && regionsContain(numbers, unitAt, blockBytes, first, last)) {
      return unitAt;
    }
    let position = afterUnit(numbers, unitAt);
    const count = numbers[position++] ?? 0;
    for (let index = 0; index < count; index++) {
      unitAt = position + 2;
      if (regionsContain(numbers, unitAt, blockBytes, first, last)) return unitAt;
      position = afterUnit(numbers, unitAt);
    }
    return -1;
  }

  /** The slot of the unit triple at `at`, checked against this arena's table (-1: none). */
  #checkedSlot(numbers: readonly number[], at: number): number {
    if (!this.#validSlot(numbers, at)) {
      throw invalidArgument('envelope', 'units of this arena', numbers[at]);
    }
    return numbers[at] ?? -1;
  }

  #validSlot(numbers: readonly number[], at: number): boolean {
    const slot = numbers[at] ?? -1;
    return slot < this.#memory.layout.maxUnits && afterUnit(numbers, at) <= numbers.length;
  }
}

/**
 * A unit protocol ticket written as a held part (its unit triple, no holds), so that accepting
 * and ending it take the same steps as a restored value's.
 */
export function ticketHeldPart(
  slot: number,
  generation: number,
  regions: readonly number[],
): number[] {
  const pairs = regions.length >> 1;
  const numbers = new Array<number>(4 + 2 * pairs);
  numbers[0] = slot;
  numbers[1] = generation;
  numbers[2] = pairs;
  for (let index = 0; index < 2 * pairs; index++) numbers[3 + index] = regions[index]!;
  numbers[3 + 2 * pairs] = 0; // no holds
  return numbers;
}

/** True when the held part at `at` holds a unit or a hold (something to give back). */
export function holdsAnything(numbers: readonly number[], at: number): boolean {
  return (numbers[at] ?? -1) >= 0 || (numbers[afterUnit(numbers, at)] ?? 0) > 0;
}

/**
 * True when the regions of the unit triple at `unitAt` ([firstBlock, count] pairs after slot,
 * generation and their count) contain data bytes [start, end).
 */
function regionsContain(
  numbers: readonly number[],
  unitAt: number,
  blockBytes: number,
  start: number,
  end: number,
): boolean {
  const regionsEnd = afterUnit(numbers, unitAt);
  for (let index = unitAt + 3; index + 1 < regionsEnd; index += 2) {
    const first = (numbers[index] ?? 0) * blockBytes;
    const last = first + (numbers[index + 1] ?? 0) * blockBytes;
    if (start >= first && end <= last) return true;
  }
  return false;
}
