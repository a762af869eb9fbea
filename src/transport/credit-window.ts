/**
 * Flow control of a stream between two threads over shared memory: the consumer counts the
 * items it has taken in one word, the producer sends item n only while fewer than `window`
 * items are untaken. Publishing a count is one store; the consumer pays for `Atomics.notify`
 * (a wake-up: tens of microseconds) only when the producer announced that it sleeps, and
 * then only when it chooses to wake it (the caller batches). Used by `iterateInWorker` on
 * threads; a child process gets the same counts as messages instead.
 *
 * Layout (Int32 words, index in brackets):
 *
 *   byte   0..3   [0]  kTakenWord     items the consumer has taken, mod 2^32     (consumer)
 *   byte   4..63        padding: the consumer's word stays off the producer's cache line
 *   byte  64..67  [16] kSleepingWord  1 while the producer may sleep (producer sets, consumer clears)
 *   byte  68..127       padding
 *
 * No wake-up is lost for the reason sleep-flag.ts gives (the producer sets the flag, then
 * re-checks the count; the consumer stores the count, then clears the flag and notifies if it
 * was set), provided the consumer wakes the producer before it waits for an item itself: the
 * caller does so whenever it finds nothing to deliver.
 */
import { SleepFlag, wakeSleeper } from './fast-lane/sleep-flag.js';
import { AdaptiveSpin } from './fast-lane/spin-policy.js';
import { wakeWord } from '../platform/wait-word.js';

const kTakenWord = 0;
const kSleepingWord = 16;
const kWindowBytes = 128;
/** The producer's longest spin for a credit before it sleeps: a worker's core, not the caller's. */
const kProducerSpinUs = 100;

/** Allocates the shared memory of one window; hand it to both sides. */
export function createCreditWindow(): SharedArrayBuffer {
  return new SharedArrayBuffer(kWindowBytes);
}

/** The consumer's end. For the consumer's thread only; never blocks, never allocates. */
export class CreditWindowConsumer {
  readonly #words: Int32Array;

  constructor(memory: SharedArrayBuffer) {
    this.#words = new Int32Array(memory);
  }

  /**
   * Publishes that `taken` items were taken in all. With `wake`, a sleeping producer is woken
   * (one `Atomics.notify`, only if it sleeps); without, it sees the count when it next looks.
   */
  publish(taken: number, wake: boolean): void {
    Atomics.store(this.#words, kTakenWord, taken | 0); // makes room for the producer's next items
    if (wake) wakeSleeper(this.#words, kSleepingWord);
  }
}

/** The producer's end. For the producer's thread only. */
export class CreditWindowProducer {
  readonly #words: Int32Array;
  readonly #window: number;
  readonly #spin = new AdaptiveSpin({ maxSpinUs: kProducerSpinUs });
  readonly #flag: SleepFlag;
  #sent = 0;
  #interrupted = false;

  constructor(memory: SharedArrayBuffer, window: number) {
    this.#words = new Int32Array(memory);
    this.#window = window;
    this.#flag = new SleepFlag(this.#words, kSleepingWord, () => this.#ready());
  }

  /** True when item number `sent` (0-based) may be sent now. Never blocks; may be stale (false). */
  hasRoom(sent: number): boolean {
    return ((sent - Atomics.load(this.#words, kTakenWord)) | 0) < this.#window;
  }

  /**
   * Resolves true once item number `sent` may be sent, false once `interrupt()` was called.
   * Spins first (adaptive, at most 100 µs, blocking this thread), then parks in
   * `Atomics.waitAsync` (the event loop keeps running, and keeps the thread alive).
   */
  async waitForRoom(sent: number): Promise<boolean> {
    this.#sent = sent;
    if (this.#ready()) return !this.#interrupted;
    const budgetUs = this.#spin.budgetUs();
    if (budgetUs > 0) {
      const hit = this.#flag.spinFor(budgetUs);
      this.#spin.record(hit);
      if (hit) return !this.#interrupted;
    }
    const startMs = performance.now();
    while (!(await this.#flag.waitAsync(Infinity, true)));
    this.#spin.recordSleep((performance.now() - startMs) * 1000);
    return !this.#interrupted;
  }

  /** Same thread: ends a wait in progress (and every later one) with false. */
  interrupt(): void {
    this.#interrupted = true;
    wakeWord(this.#words, kSleepingWord); // wakes this thread's own parked wait
  }

  #ready(): boolean {
    return this.#interrupted || this.hasRoom(this.#sent);
  }
}
