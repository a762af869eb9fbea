/**
 * `EmissionWindow`: how a stage running several calls at once hands their results on, in source
 * order (`ordered`) or as they complete, with at most `concurrency` items between "taken from
 * the input" and "handed to the output".
 *
 * A place in the window is reserved before an item is read and freed only once its result is
 * in the output channel (or the item was dropped). So a stage holds at most `concurrency`
 * items, whether running, finished and waiting for their turn (ordered), or waiting for room
 * downstream: that bound, with the channels' capacity, is what keeps memory flat.
 */

/** How one reserved place ends: a value to emit, or nothing (a failed or cancelled item). */
export type Outcome<T> = { readonly emit: true; readonly value: T } | { readonly emit: false };

export const kDropped: Outcome<never> = { emit: false };

export class EmissionWindow<T> {
  readonly #capacity: number;
  readonly #ordered: boolean;
  /** Puts one value into the output; resolves false when the pipeline is stopping. */
  readonly #emit: (value: T) => Promise<boolean>;
  #nextSequence = 0;
  /** Sequence number of the next outcome to hand on, in ordered mode. */
  #nextToEmit = 0;
  #occupied = 0;
  /** Ordered: finished outcomes by sequence number. Completion order: a FIFO of them. */
  readonly #finished = new Map<number, Outcome<T>>();
  readonly #completed: Outcome<T>[] = [];
  #draining = false;
  #stopped = false;
  readonly #placeWaiters: ((sequence: number | undefined) => void)[] = [];
  readonly #idleWaiters: (() => void)[] = [];

  constructor(capacity: number, ordered: boolean, emit: (value: T) => Promise<boolean>) {
    this.#capacity = capacity;
    this.#ordered = ordered;
    this.#emit = emit;
  }

  /** Waits for a free place and returns its sequence number; undefined once stopped. */
  reserve(): Promise<number | undefined> {
    if (this.#stopped) return Promise.resolve(undefined);
    if (this.#occupied < this.#capacity) return Promise.resolve(this.#take());
    return new Promise((resolve) => this.#placeWaiters.push(resolve));
  }

  /** Records how the item in place `sequence` ended; hands on whatever is now due. */
  settle(sequence: number, outcome: Outcome<T>): void {
    if (this.#stopped) return;
    if (this.#ordered) this.#finished.set(sequence, outcome);
    else this.#completed.push(outcome);
    void this.#drain();
  }

  /** Resolves once every reserved place was handed on (or the window stopped). */
  idle(): Promise<void> {
    if (this.#occupied === 0 || this.#stopped) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Forgets every outcome and wakes every waiter: the pipeline is stopping. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#finished.clear();
    this.#completed.length = 0;
    for (const waiter of this.#placeWaiters.splice(0)) waiter(undefined);
    for (const waiter of this.#idleWaiters.splice(0)) waiter();
  }

  #take(): number {
    this.#occupied++;
    return this.#nextSequence++;
  }

  #nextDue(): Outcome<T> | undefined {
    if (!this.#ordered) return this.#completed.shift();
    const outcome = this.#finished.get(this.#nextToEmit);
    if (outcome === undefined) return undefined;
    this.#finished.delete(this.#nextToEmit++);
    return outcome;
  }

  // One drain at a time, so outputs enter the channel in the order decided here even when
  // the channel is full and each put waits.
  async #drain(): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    try {
      for (let outcome = this.#nextDue(); outcome; outcome = this.#nextDue()) {
        if (outcome.emit && !(await this.#emit(outcome.value))) return;
        if (this.#stopped) return;
        this.#free();
      }
    } finally {
      this.#draining = false;
    }
  }

  #free(): void {
    this.#occupied--;
    const waiter = this.#placeWaiters.shift();
    if (waiter) waiter(this.#take());
    else if (this.#occupied === 0) for (const idle of this.#idleWaiters.splice(0)) idle();
  }
}
