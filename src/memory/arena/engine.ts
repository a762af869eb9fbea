/**
 * The engine behind `Arena` on one thread: offload (try and wait variants), restore, and the
 * unit protocol's receiver half. Arguments arrive validated.
 */

import { invalidArgument, KeelError } from '../../errors.js';
import type { ArenaEnvelope, ArenaTicket } from './envelope.js';
import { kFallbacksWord, kFreeEpochWord, kWaitsWord } from './layout.js';
import { copyBytes } from './leaf-types.js';
import { holdUnit, isArenaBacked, markArenaBuffer, newPin } from './lifetimes.js';
import type { ArenaMemory } from './memory.js';
import {
  buildEnvelope,
  demoteGroup,
  type LeafGroup,
  type OffloadPlan,
  planOffload,
  type PlacedGroup,
} from './plan.js';
import { restoreEnvelope } from './restore.js';
import { UnitWriter } from './unit-writer.js';
import { waitForChange, type WaitOutcome } from './wait.js';

// setImmediate where it exists (Node), else a zero timeout: either lets queued messages run.
const yieldMacrotask: (callback: (value: unknown) => void) => void =
  (globalThis as { setImmediate?: (callback: (value: unknown) => void) => void }).setImmediate ??
  ((callback) => setTimeout(callback, 0));

export class ArenaEngine {
  readonly memory: ArenaMemory;
  readonly handleId: number;
  readonly minBytes: number;
  #closed = false;

  constructor(memory: ArenaMemory, handleId: number, minBytes: number) {
    this.memory = memory;
    this.handleId = handleId;
    this.minBytes = minBytes;
    markArenaBuffer(memory.buffer);
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
    const plan = this.#plan(value);
    const writer = new UnitWriter(this.memory, this.handleId);
    const placed: PlacedGroup[] = [];
    try {
      for (const group of [...plan.groups]) {
        const dataOffsetBytes = writer.reserve(group.end - group.start);
        if (dataOffsetBytes < 0) this.#fallBack(plan, group);
        else placed.push(this.#copyIn(group, dataOffsetBytes));
      }
      return this.#seal(value, plan, placed, writer);
    } catch (error) {
      writer.abort();
      throw error;
    }
  }

  /** Wait variant: waits (without blocking the thread) until every group fits at once. */
  async offloadWaiting<T>(
    value: T,
    deadlineMs: number,
    signal?: AbortSignal,
  ): Promise<ArenaEnvelope<T>> {
    this.assertOpen();
    const plan = this.#plan(value);
    this.#fitWhole(plan);
    let waited = false;
    for (;;) {
      this.assertOpen();
      const epoch = this.memory.epoch();
      const envelope = this.#tryPlaceAll(value, plan);
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
        throw new KeelError('ERR_TIMEOUT', `arena had no room for ${byteLength} bytes in time`);
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
    const ticket = envelope.unit;
    if (ticket !== null) this.acceptUnit(ticket);
    const memory = this.memory;
    try {
      const { value, pin } = restoreEnvelope(envelope, {
        buffer: memory.buffer,
        dataOffsetBytes: memory.layout.dataOffsetBytes,
        dataBytes: memory.data.byteLength,
        makePin: () => newPin(memory.buffer),
      });
      if (ticket !== null && pin !== null) holdUnit(pin, value, () => this.endUnit(ticket));
      else if (ticket !== null) this.endUnit(ticket);
      return value as T;
    } catch (error) {
      if (ticket !== null) this.endUnit(ticket);
      throw error;
    }
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

  #plan(value: unknown): OffloadPlan {
    const plan = planOffload(value, this.minBytes, isArenaBacked);
    // A group larger than the whole arena never enters it: it crosses by copying.
    const capacityBytes = this.memory.data.byteLength;
    for (const group of plan.groups.filter(
      (candidate) => candidate.end - candidate.start > capacityBytes,
    )) {
      this.#fallBack(plan, group);
    }
    return plan;
  }

  /** Groups that together exceed the arena could never be placed at once: the largest go inline. */
  #fitWhole(plan: OffloadPlan): void {
    const capacityBlocks = this.memory.layout.blockCount;
    let blocks = plan.groups.reduce((sum, group) => sum + this.#blocksOf(group), 0);
    const largestFirst = [...plan.groups].sort((a, b) => this.#blocksOf(b) - this.#blocksOf(a));
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
  #tryPlaceAll<T>(value: T, plan: OffloadPlan): ArenaEnvelope<T> | null {
    const blocksNeeded = plan.groups.reduce((sum, group) => sum + this.#blocksOf(group), 0);
    if (blocksNeeded > this.memory.freeBlocks()) return null;
    const writer = new UnitWriter(this.memory, this.handleId);
    try {
      const offsets = plan.groups.map((group) => writer.reserve(group.end - group.start));
      if (offsets.some((offset) => offset < 0)) {
        writer.abort();
        return null;
      }
      const placed = plan.groups.map((group, index) => this.#copyIn(group, offsets[index] ?? 0));
      return this.#seal(value, plan, placed, writer);
    } catch (error) {
      writer.abort();
      throw error;
    }
  }

  #seal<T>(
    value: T,
    plan: OffloadPlan,
    placed: PlacedGroup[],
    writer: UnitWriter,
  ): ArenaEnvelope<T> {
    const envelope = buildEnvelope(value, placed, plan.inline, null);
    if (placed.length === 0) {
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
    return new KeelError('ERR_TIMEOUT', `arena had no room for ${bytes} bytes in time`);
  }
}
