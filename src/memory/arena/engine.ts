/**
 * The engine behind `Arena` on one thread: offload (try and wait variants), restore, and the
 * unit protocol's receiver half. Arguments arrive validated.
 */

import { invalidArgument, KeelError } from '../../errors.js';
import { type DirectOffload, DirectOffloader } from './direct-offload.js';
import { HeldParts, holdsAnything } from './held-part.js';
import type {
  ArenaClaim,
  ArenaEnvelope,
  ArenaTicket,
  HoldTicket,
  PackedClaim,
} from './envelope.js';
import {
  type FlatEnvelope,
  heldAt,
  kArenaIdAt,
  pushHolds,
  pushUnit,
  ticketAt,
} from './flat-envelope.js';
import { kFallbacksWord, kFreeEpochWord, kWaitsWord } from './layout.js';
import { bytesPerElement, copyBytes, type LeafType, makeView } from './leaf-types.js';
import {
  holdUnit,
  isArenaBacked,
  type LeaseOwner,
  leaseThrough,
  markArenaBuffer,
  newPin,
} from './lifetimes.js';
import type { ArenaMemory } from './memory.js';
import {
  buildEnvelope,
  demoteGroup,
  type LeafGroup,
  type OffloadPlan,
  planOffload,
  type PlacedGroup,
} from './plan.js';
import { restoreEnvelope, restoreFlat, type Restored, type RestoreTarget } from './restore.js';
import { UnitWriter } from './unit-writer.js';
import { waitForChange, type WaitOutcome } from './wait.js';

/** A plan, and the groups that lie in units this thread holds (forwarded by reference). */
interface Offload {
  readonly plan: OffloadPlan;
  readonly references: Map<LeafGroup, ArenaTicket>;
}

/** The holds one offload took, by unit slot (one per unit however many views point into it). */
type Holds = Map<number, HoldTicket>;

// setImmediate where it exists (Node), else a zero timeout: either lets queued messages run.
const yieldMacrotask: (callback: (value: unknown) => void) => void =
  (globalThis as { setImmediate?: (callback: (value: unknown) => void) => void }).setImmediate ??
  ((callback) => setTimeout(callback, 0));

export class ArenaEngine implements LeaseOwner {
  readonly memory: ArenaMemory;
  readonly handleId: number;
  readonly minBytes: number;
  readonly arenaId: number;
  readonly #target: RestoreTarget;
  readonly #held: HeldParts;
  readonly #direct: DirectOffloader;
  #closed = false;

  constructor(memory: ArenaMemory, handleId: number, minBytes: number) {
    this.memory = memory;
    this.handleId = handleId;
    this.minBytes = minBytes;
    this.arenaId = memory.arenaId;
    markArenaBuffer(memory.buffer);
    this.#held = new HeldParts(memory, handleId);
    this.#direct = new DirectOffloader(memory, handleId, minBytes, this.#held);
    this.#target = {
      buffer: memory.buffer,
      dataOffsetBytes: memory.layout.dataOffsetBytes,
      dataBytes: memory.data.byteLength,
      makePin: () => newPin(memory.buffer),
    };
  }

  get closed(): boolean {
    return this.#closed || this.memory.closed;
  }

  /** This handle takes no new units; the arena itself closes only if `everywhere`. */
  close(everywhere: boolean): void {
    this.#closed = true;
    if (everywhere) this.memory.close();
    else this.memory.wakeWriters(); // so that this handle's own waiting writers see the close
  }

  assertOpen(): void {
    if (this.closed) throw new KeelError('ERR_CLOSED', 'arena is closed');
  }

  newWriter(): UnitWriter {
    this.assertOpen();
    return new UnitWriter(this.memory, this.handleId);
  }

  /** Try variant: whatever does not fit right now stays inline (a counted fallback). */
  offloadNow<T>(value: T): ArenaEnvelope<T> {
    this.assertOpen();
    const offload = this.#plan(value);
    const { plan } = offload;
    const writer = new UnitWriter(this.memory, this.handleId);
    const placed: PlacedGroup[] = [];
    const holds: Holds = new Map();
    try {
      for (const group of [...plan.groups]) {
        const referred = this.#referTo(offload, group, holds);
        if (referred !== null) {
          placed.push(referred);
          continue;
        }
        const dataOffsetBytes = writer.reserve(group.end - group.start);
        if (dataOffsetBytes < 0) this.#fallBack(plan, group);
        else placed.push(this.#copyIn(group, dataOffsetBytes));
      }
      return this.#seal(value, plan, placed, writer, holds);
    } catch (error) {
      writer.abort();
      this.#dropHolds(holds);
      throw error;
    }
  }

  /**
   * The direct path (direct-offload.ts): the flat form of a simple value in one pass, or
   * undefined when the value needs the general path or a leaf does not fit right now (the
   * general path then decides: a fallback, or a wait). Never waits.
   */
  offloadDirect(value: unknown): DirectOffload | undefined {
    this.assertOpen();
    return this.#direct.offload(value);
  }

  /** Wait variant: waits (without blocking the thread) until every group fits at once. */
  async offloadWaiting<T>(
    value: T,
    deadlineMs: number,
    signal?: AbortSignal,
  ): Promise<ArenaEnvelope<T>> {
    this.assertOpen();
    const offload = this.#plan(value);
    const { plan } = offload;
    this.#fitWhole(offload);
    let waited = false;
    for (;;) {
      this.assertOpen();
      const epoch = this.memory.epoch();
      const envelope = this.#tryPlaceAll(value, offload);
      if (envelope !== null) return envelope;
      if (!waited) this.memory.count(kWaitsWord, 1);
      waited = true;
      if ((await this.#awaitFree(epoch, deadlineMs, signal)) === 'timed-out')
        throw this.#timeout(plan);
    }
  }

  /** Resolves once `byteLength` bytes are free (they may be taken again at once: retry). */
  async waitForSpace(byteLength: number, deadlineMs: number, signal?: AbortSignal): Promise<void> {
    const { blockBytes, blockCount } = this.memory.layout;
    const blocks = Math.max(1, Math.ceil(byteLength / blockBytes));
    if (blocks > blockCount) {
      throw new KeelError(
        'ERR_ARENA_FULL',
        `${byteLength} bytes can never fit an arena of ${blockBytes * blockCount}`,
      );
    }
    let waited = false;
    for (;;) {
      this.assertOpen();
      const epoch = this.memory.epoch();
      if (this.memory.freeBlocks() >= blocks) return;
      if (!waited) this.memory.count(kWaitsWord, 1);
      waited = true;
      if ((await this.#awaitFree(epoch, deadlineMs, signal)) === 'timed-out') {
        throw new KeelError(
          'ERR_TIMEOUT',
          `arena had no room for ${byteLength} bytes within timeoutMs`,
        );
      }
    }
  }

  /**
   * Waits for the free epoch to move past `epoch`. When it already has, yields one macrotask
   * first: retrying in microtasks alone would starve this thread's own message handling,
   * which may be what frees the space.
   */
  async #awaitFree(epoch: number, deadlineMs: number, signal?: AbortSignal): Promise<WaitOutcome> {
    if (this.memory.epoch() !== epoch) {
      await new Promise((resolve) => {
        yieldMacrotask(resolve);
      });
      return performance.now() >= deadlineMs ? 'timed-out' : 'changed';
    }
    return waitForChange(this.memory.header, kFreeEpochWord, epoch, deadlineMs, signal);
  }

  restore<T>(envelope: ArenaEnvelope<T>): T {
    this.#checkTicketsOf(envelope);
    const numbers: number[] = [];
    pushUnit(numbers, envelope.unit);
    pushHolds(numbers, envelope.holds);
    return this.#restoreHeld(numbers, 0, () => restoreEnvelope(envelope, this.#target)) as T;
  }

  /** Like `restore`, for the flat form (what the transports post): no envelope is rebuilt. */
  restoreFlat(flat: FlatEnvelope): unknown {
    const numbers = flat[2];
    if (numbers[kArenaIdAt] !== this.arenaId) {
      throw invalidArgument('envelope', 'a value packed for this arena', numbers[kArenaIdAt]);
    }
    return this.#restoreHeld(numbers, heldAt(numbers), () => restoreFlat(flat, this.#target));
  }

  /**
   * Takes the held part at `at` (unit, holds), rebuilds the value over one pin, and ties the
   * held part to that pin's lifetime (or lets go at once when no view aliases the arena).
   */
  #restoreHeld(numbers: readonly number[], at: number, rebuild: () => Restored): unknown {
    this.#held.accept(numbers, at);
    try {
      const { value, pin } = rebuild();
      if (pin !== null && holdsAnything(numbers, at)) holdUnit(pin, this, numbers, at);
      else this.endHeld(numbers, at);
      return value;
    } catch (error) {
      this.endHeld(numbers, at);
      throw error;
    }
  }

  /** LeaseOwner: lets go of the unit and every hold of the held part at `at`. */
  endHeld(numbers: readonly number[], at: number): void {
    this.#held.end(numbers, at);
  }

  #checkTicketsOf(claim: ArenaClaim): void {
    if (claim.unit !== null) this.#checkTicket(claim.unit);
    for (const hold of claim.holds) this.#checkHold(hold);
  }

  /**
   * A view of `length` elements of `type` in a unit of its own held by this thread, as if it
   * had been received: passing it (or views into it) to another thread forwards it by
   * reference, without a copy. Throws `ERR_ARENA_FULL` when there is no room right now.
   */
  allocate(type: LeafType, length: number, zero: boolean): ArrayBufferView {
    this.assertOpen();
    const byteLength = length * bytesPerElement(type);
    const writer = new UnitWriter(this.memory, this.handleId);
    const at = byteLength <= this.memory.data.byteLength ? writer.reserve(byteLength) : -1;
    if (at < 0) {
      writer.abort();
      throw new KeelError(
        'ERR_ARENA_FULL',
        `the arena has no room for ${byteLength} bytes now (${this.memory.freeBlocks() * this.memory.layout.blockBytes} free of ${this.memory.data.byteLength})`,
      );
    }
    const numbers: number[] = new Array<number>(4 + 2 * writer.regionPairs);
    numbers[writer.commitInto(numbers, 0)] = 0; // no holds
    this.#held.accept(numbers, 0);
    const memory = this.memory;
    const pin = newPin(memory.buffer);
    const view = makeView(type, pin, memory.layout.dataOffsetBytes + at, length);
    if (zero) new Uint8Array(pin, view.byteOffset, byteLength).fill(0);
    holdUnit(pin, this, numbers, 0);
    return view;
  }

  /**
   * Sender side: gives back what a packed value holds that was never received (its unit if
   * still committed, its holds still in flight). False when there was nothing left to give back.
   */
  discard(claim: PackedClaim): boolean {
    if (isNumbers(claim)) return this.#held.discard(claim, heldAt(claim));
    this.#checkTicketsOf(claim);
    const numbers: number[] = [];
    pushUnit(numbers, claim.unit);
    pushHolds(numbers, claim.holds);
    return this.#held.discard(numbers, 0);
  }

  /** committed -> received by this handle: the unit now survives its writer's death. */
  acceptUnit(ticket: ArenaTicket): void {
    this.#checkTicket(ticket);
    if (ticket.slot < 0) return;
    if (!this.memory.acceptSlot(ticket.slot, ticket.generation, this.handleId)) {
      throw new KeelError(
        'ERR_INVALID_ARGUMENT',
        `arena unit ${ticket.slot} is gone: it was restored already, or reclaimed after its writer exited`,
      );
    }
  }

  /** Returns a unit's space; false when it had ended already. Any thread, never blocks. */
  endUnit(ticket: ArenaTicket): boolean {
    this.#checkTicket(ticket);
    if (ticket.slot < 0) return false;
    return this.memory.endSlot(ticket.slot, ticket.generation, ticket.regions);
  }

  #checkTicket(ticket: ArenaTicket): void {
    const { arenaId, layout } = this.memory;
    if (ticket.arenaId !== arenaId || ticket.slot >= layout.maxUnits) {
      throw invalidArgument('ticket', 'a ticket of this arena', ticket);
    }
  }

  #checkHold(hold: HoldTicket): void {
    this.#checkTicket(hold.unit);
    if (!(hold.entry >= 0 && hold.entry < this.memory.layout.maxUnits && hold.unit.slot >= 0)) {
      throw invalidArgument('envelope.holds', 'hold tickets of this arena', hold);
    }
  }

  /** Lets go of holds this handle took (`inFlight`: as a sender) or received. */
  #dropHolds(holds: Holds | readonly HoldTicket[], inFlight = true): void {
    for (const { entry, generation, unit } of holds.values()) {
      this.memory.dropHold(entry, generation, this.handleId, inFlight, unit.regions);
    }
  }

  /**
   * Places a group that lies inside a unit this thread holds by taking one more hold on that
   * unit (once per unit): no copy. Null for other groups, or when every hold entry is taken.
   */
  #referTo(offload: Offload, group: LeafGroup, holds: Holds): PlacedGroup | null {
    const ticket = offload.references.get(group);
    if (ticket === undefined) return null;
    if (!holds.has(ticket.slot)) {
      const hold = this.memory.addHold(ticket.slot, this.handleId);
      if (hold === null) return null;
      holds.set(ticket.slot, { ...hold, unit: ticket });
    }
    return { group, dataOffsetBytes: group.start - this.memory.layout.dataOffsetBytes };
  }

  #plan(value: unknown): Offload {
    const plan = planOffload(value, this.minBytes, isArenaBacked);
    const references = new Map<LeafGroup, ArenaTicket>();
    for (const group of plan.groups) {
      const ticket = group.arenaBacked && !group.copyOut ? this.#unitHolding(group) : undefined;
      if (ticket !== undefined) references.set(group, ticket);
    }
    // A group larger than the whole arena never enters it: it crosses by copying.
    const capacityBytes = this.memory.data.byteLength;
    for (const group of plan.groups.filter(
      (candidate) => candidate.end - candidate.start > capacityBytes,
    )) {
      if (!references.has(group)) this.#fallBack(plan, group);
    }
    return { plan, references };
  }

  /** The unit this thread holds whose blocks contain `group` (a view over one of its pins). */
  #unitHolding(group: LeafGroup): ArenaTicket | undefined {
    const lease = leaseThrough(group.source);
    if (lease === null) return undefined;
    const dataStart = this.memory.layout.dataOffsetBytes;
    const unitAt = this.#held.unitIn(lease, group.start - dataStart, group.end - dataStart);
    return unitAt < 0 ? undefined : (ticketAt(lease.numbers, unitAt, this.arenaId) ?? undefined);
  }

  /** Groups that together exceed the arena could never be placed at once: the largest go inline. */
  #fitWhole({ plan, references }: Offload): void {
    const capacityBlocks = this.memory.layout.blockCount;
    const copied = plan.groups.filter((group) => !references.has(group));
    let blocks = copied.reduce((sum, group) => sum + this.#blocksOf(group), 0);
    const largestFirst = copied.sort((a, b) => this.#blocksOf(b) - this.#blocksOf(a));
    for (const group of largestFirst) {
      if (blocks <= capacityBlocks) break;
      blocks -= this.#blocksOf(group);
      this.#fallBack(plan, group);
    }
  }

  #fallBack(plan: OffloadPlan, group: LeafGroup): void {
    plan.groups.splice(plan.groups.indexOf(group), 1);
    demoteGroup(plan, group);
    this.memory.count(kFallbacksWord, 1);
  }

  #copyIn(group: LeafGroup, dataOffsetBytes: number): PlacedGroup {
    const byteLength = group.end - group.start;
    const target = this.memory.data.subarray(dataOffsetBytes, dataOffsetBytes + byteLength);
    copyBytes(target, new Uint8Array(group.source, group.start, byteLength));
    return { group, dataOffsetBytes };
  }

  /** All groups or none: a writer never holds part of the space while it waits. */
  #tryPlaceAll<T>(value: T, offload: Offload): ArenaEnvelope<T> | null {
    const { plan } = offload;
    const holds: Holds = new Map();
    const placed: PlacedGroup[] = [];
    const toCopy: LeafGroup[] = [];
    const writer = new UnitWriter(this.memory, this.handleId);
    try {
      for (const group of plan.groups) {
        const referred = this.#referTo(offload, group, holds);
        if (referred !== null) placed.push(referred);
        else toCopy.push(group);
      }
      const blocksNeeded = toCopy.reduce((sum, group) => sum + this.#blocksOf(group), 0);
      const offsets =
        blocksNeeded > this.memory.freeBlocks()
          ? [-1]
          : toCopy.map((group) => writer.reserve(group.end - group.start));
      if (offsets.some((offset) => offset < 0)) {
        writer.abort();
        this.#dropHolds(holds);
        return null;
      }
      toCopy.forEach((group, index) => placed.push(this.#copyIn(group, offsets[index] ?? 0)));
      return this.#seal(value, plan, placed, writer, holds);
    } catch (error) {
      writer.abort();
      this.#dropHolds(holds);
      throw error;
    }
  }

  #seal<T>(
    value: T,
    plan: OffloadPlan,
    placed: PlacedGroup[],
    writer: UnitWriter,
    holds: Holds,
  ): ArenaEnvelope<T> {
    const envelope = buildEnvelope(value, placed, plan.inline, null, [...holds.values()]);
    if (writer.reservedBytes === 0) {
      writer.abort();
      return envelope;
    }
    return { ...envelope, unit: writer.commit() };
  }

  #blocksOf(group: LeafGroup): number {
    return Math.max(1, Math.ceil((group.end - group.start) / this.memory.layout.blockBytes));
  }

  #timeout(plan: OffloadPlan): KeelError {
    const bytes = plan.groups.reduce((sum, group) => sum + group.end - group.start, 0);
    return new KeelError('ERR_TIMEOUT', `arena had no room for ${bytes} bytes within timeoutMs`);
  }
}

function isNumbers(claim: PackedClaim): claim is readonly number[] {
  return Array.isArray(claim);
}
