/**
 * The engine behind `Arena` on one thread: offload (offload.ts, try and wait variants), restore
 * and discard of envelopes (envelope.ts, restore.ts, held-part.ts), `allocate`, and the unit
 * protocol's receiver half, which takes the same steps as a restored value. Arguments arrive
 * validated.
 */

import { invalidArgument, KeelError } from '../../errors.js';
import { type ArenaEnvelope, checkedHeldAt, kArenaIdAt } from './envelope.js';
import { HeldParts, holdsAnything, ticketHeldPart } from './held-part.js';
import { kFreeEpochWord, kWaitsWord } from './layout.js';
import { bytesPerElement, type LeafType, makeView } from './leaf-types.js';
import { holdUnit, type LeaseOwner, markArenaBuffer, newPin } from './lifetimes.js';
import type { ArenaMemory } from './memory.js';
import { Offloader, type PreparedOffload } from './offload.js';
import type { ArenaTicket } from './options.js';
import { restoreValue, type RestoreTarget } from './restore.js';
import { findSimpleLeaves } from './simple-value.js';
import { UnitWriter } from './unit-writer.js';
import { waitForChange, type WaitOutcome } from './wait.js';

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
  readonly #offloader: Offloader;
  #closed = false;

  constructor(memory: ArenaMemory, handleId: number, minBytes: number) {
    this.memory = memory;
    this.handleId = handleId;
    this.minBytes = minBytes;
    this.arenaId = memory.arenaId;
    markArenaBuffer(memory.buffer);
    this.#held = new HeldParts(memory, handleId);
    this.#offloader = new Offloader(memory, handleId, minBytes, this.#held);
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

  /**
   * Try variant: whatever does not fit right now stays in the value (a counted fallback), and
   * so do leaves over a buffer in `kept` (moved ones).
   */
  offloadNow(value: unknown, kept?: ReadonlySet<ArrayBufferLike>): ArenaEnvelope {
    this.assertOpen();
    return this.#offloader.now(value, kept);
  }

  /**
   * Wait variant: every group placed at once, waiting (without blocking the thread) for room.
   * The first attempt runs now, so a value that fits settles without a wait. Leaves over a
   * buffer in `kept` (moved ones) stay in the value.
   */
  offloadWaiting(
    value: unknown,
    deadlineMs: number,
    signal?: AbortSignal,
    kept?: ReadonlySet<ArrayBufferLike>,
  ): Promise<ArenaEnvelope> {
    let simple;
    try {
      this.assertOpen();
      simple = kept === undefined ? findSimpleLeaves(value, this.minBytes) : null;
      const envelope = simple === null ? null : this.#offloader.placeSimple(value, simple);
      if (envelope !== null) return Promise.resolve(envelope);
    } catch (error) {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- what the attempt threw (a KeelError, or a getter's own error), as an async function would
      return Promise.reject(error);
    }
    return this.#offloadAfterWaits(value, simple, deadlineMs, signal, kept);
  }

  async #offloadAfterWaits(
    value: unknown,
    simple: ReturnType<typeof findSimpleLeaves>,
    deadlineMs: number,
    signal: AbortSignal | undefined,
    kept: ReadonlySet<ArrayBufferLike> | undefined,
  ): Promise<ArenaEnvelope> {
    const prepared: PreparedOffload = this.#offloader.prepare(value, simple, kept);
    let waited = false;
    for (;;) {
      this.assertOpen();
      const epoch = this.memory.epoch();
      const envelope = this.#offloader.placeAll(value, prepared);
      if (envelope !== null) return envelope;
      if (!waited) this.memory.count(kWaitsWord, 1);
      waited = true;
      if ((await this.#awaitFree(epoch, deadlineMs, signal)) === 'timed-out') {
        const bytes = this.#offloader.bytesOf(prepared);
        throw new KeelError('ERR_TIMEOUT', `arena had no room for ${bytes} bytes within timeoutMs`);
      }
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

  /**
   * Takes what the envelope holds (its unit, its holds), rebuilds the value over one pin, and
   * ties what it holds to that pin's lifetime (or lets go at once when no view aliases the
   * arena). Throws, having let go of what it took, on an envelope it cannot restore.
   */
  restore(envelope: ArenaEnvelope): unknown {
    const numbers = this.#numbersOf(envelope);
    const at = checkedHeldAt(numbers);
    this.#held.accept(numbers, at);
    try {
      const { value, pin } = restoreValue(envelope, this.#target);
      if (pin !== null && holdsAnything(numbers, at)) holdUnit(pin, this, numbers, at);
      else this.endHeld(numbers, at);
      return value;
    } catch (error) {
      this.endHeld(numbers, at);
      throw error;
    }
  }

  /**
   * Sender side: gives back what an envelope holds that was never received (its unit if still
   * committed, its holds still in flight). False when there was nothing left to give back.
   */
  discard(envelope: ArenaEnvelope): boolean {
    const numbers = this.#numbersOf(envelope);
    return this.#held.discard(numbers, checkedHeldAt(numbers));
  }

  /** LeaseOwner: lets go of the unit and every hold of the held part at `at`. */
  endHeld(numbers: readonly number[], at: number): void {
    this.#held.end(numbers, at);
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
    // A held part of its own: the unit triple and no holds, as a received value's.
    const numbers: number[] = new Array<number>(4 + 2 * writer.regionPairs);
    numbers[writer.commitInto(numbers, 0)] = 0;
    this.#held.accept(numbers, 0);
    const memory = this.memory;
    const pin = newPin(memory.buffer);
    const view = makeView(type, pin, memory.layout.dataOffsetBytes + at, length);
    if (zero) new Uint8Array(pin, view.byteOffset, byteLength).fill(0);
    holdUnit(pin, this, numbers, 0);
    return view;
  }

  /** committed -> received by this handle: the unit now survives its writer's death. */
  acceptUnit(ticket: ArenaTicket): void {
    this.#checkTicket(ticket);
    if (ticket.slot < 0) return;
    this.#held.accept(ticketHeldPart(ticket.slot, ticket.generation, ticket.regions), 0);
  }

  /** Returns a unit's space; false when it had ended already. Any thread, never blocks. */
  endUnit(ticket: ArenaTicket): boolean {
    this.#checkTicket(ticket);
    if (ticket.slot < 0) return false;
    return this.#held.end(ticketHeldPart(ticket.slot, ticket.generation, ticket.regions), 0);
  }

  #checkTicket(ticket: ArenaTicket): void {
    const { arenaId, layout } = this.memory;
    if (ticket.arenaId !== arenaId || ticket.slot >= layout.maxUnits) {
      throw invalidArgument('ticket', 'a ticket of this arena', ticket);
    }
  }

  #numbersOf(envelope: ArenaEnvelope): readonly number[] {
    const numbers = envelope[2];
    if (numbers[kArenaIdAt] !== this.arenaId) {
      throw invalidArgument('envelope', 'an envelope of this arena', numbers[kArenaIdAt]);
    }
    return numbers;
  }
}
