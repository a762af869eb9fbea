/**
 * The eventcount-style sleep flag of a ring's consumer: one Int32 word that the consumer sets
 * to 1 before it sleeps and the producer clears (and then notifies) after it publishes. A
 * producer whose consumer is awake pays one `Atomics.load` per publish, never a system call.
 *
 * Why no wake-up is lost (consumer C, producer P), all Atomics being sequentially consistent:
 *   C: store(flag, 1); check ready (loads of the ring's indices); if not ready: wait(flag, 1)
 *   P: publish (a store or add on the ring's indices); load(flag); if 1: exchange(flag, 0), notify
 * In the single total order either C's store of 1 comes before P's load of the flag (P sees 1,
 * clears it and notifies), or P's load comes first, and then P's publish precedes C's check
 * (C sees the data and does not sleep). When P clears the flag before C reaches the wait,
 * `waitWord(flag, 1)` compares atomically and returns 'not-equal' at once; when C already
 * waits, the notify wakes it. Clearing is what makes this safe: a producer that only notified
 * could do so between C's check and C's wait, and C would sleep through it (test/fast-lane-
 * wakeup.test.ts catches exactly that mutation). A stale clear only causes a spurious wake-up,
 * which the loops below absorb by checking `ready()` again.
 */
import { kMaxTimerMs } from '../../timers/long-timeout.js';
import { waitWord, waitWordAsync, wakeWord } from '../../platform/wait-word.js';

/** How many `ready()` polls between two clock reads while spinning (a poll is ~15-40 ns). */
const kPollsPerClockRead = 32;

/** One timer per thread keeps its event loop alive while any endless async wait needs it. */
let keepAliveTimer: ReturnType<typeof setInterval> | undefined;
let keepAliveHolders = 0;

function holdLoopAlive(): void {
  if (keepAliveHolders++ > 0) return;
  keepAliveTimer ??= setInterval(() => undefined, kMaxTimerMs);
  keepAliveTimer.ref();
}

function letLoopGo(): void {
  if (--keepAliveHolders === 0) keepAliveTimer?.unref();
}

/**
 * Producer side: wakes the consumer if it announced that it may sleep. One load when it did not.
 * Returns true when it had to wake it (the consumer was asleep, or about to be).
 */
export function wakeSleeper(words: Int32Array, flagIndex: number): boolean {
  if (Atomics.load(words, flagIndex) !== 0 && Atomics.exchange(words, flagIndex, 0) === 1) {
    wakeWord(words, flagIndex);
    return true;
  }
  return false;
}

/**
 * The consumer's waits on one flag. `ready` says whether there is something to look at; it must
 * read the shared state with Atomics loads. One wait at a time; for the consumer's thread only.
 */
export class SleepFlag {
  readonly #words: Int32Array;
  readonly #index: number;
  readonly #ready: () => boolean;

  constructor(words: Int32Array, flagIndex: number, ready: () => boolean) {
    this.#words = words;
    this.#index = flagIndex;
    this.#ready = ready;
  }

  /** Polls `ready()` for at most `maxUs` µs, busy (the event loop blocked). Never allocates. */
  spinFor(maxUs: number): boolean {
    const ready = this.#ready;
    if (ready()) return true;
    if (!(maxUs > 0)) return false;
    const deadlineMs = performance.now() + maxUs / 1000;
    do {
      for (let poll = 0; poll < kPollsPerClockRead; poll++) {
        if (ready()) return true;
      }
    } while (performance.now() < deadlineMs);
    return ready();
  }

  /** Sleeps in `Atomics.wait` (blocking the thread) until `ready()` or the timeout. */
  waitSync(timeoutMs: number): boolean {
    if (this.#ready()) return true;
    const deadlineMs = performance.now() + timeoutMs;
    for (;;) {
      Atomics.store(this.#words, this.#index, 1); // makes the producer notify after its next publish
      if (this.#ready()) break;
      const remainingMs = deadlineMs - performance.now();
      if (!(remainingMs > 0)) break;
      waitWord(this.#words, this.#index, 1, remainingMs);
    }
    Atomics.store(this.#words, this.#index, 0); // makes the producer skip notify again
    return this.#ready();
  }

  /**
   * Parks in `Atomics.waitAsync` (the event loop runs) until `ready()` or the timeout.
   * Allocates a promise per sleep, and a timer when the wait has a timeout.
   */
  async waitAsync(timeoutMs: number, keepAlive: boolean): Promise<boolean> {
    if (this.#ready() || !(timeoutMs > 0)) return this.#ready();
    // Node 20 keeps the event loop alive neither for a pending Atomics.waitAsync nor for its
    // timeout (nodejs/node#61941, nodejs/node#44409): a timer does both jobs instead. An
    // endless wait only needs the keep-alive, which one shared timer gives (ref'd while some
    // wait needs it): a timer made and cleared per sleep was ~1-2 µs of every wake-up.
    let expired = false;
    const expire = () => {
      expired = true;
      wakeWord(this.#words, this.#index);
    };
    const timer = Number.isFinite(timeoutMs)
      ? setTimeout(expire, Math.min(timeoutMs, kMaxTimerMs))
      : undefined;
    if (timer !== undefined && !keepAlive) timer.unref();
    const heldAlive = timer === undefined && keepAlive;
    if (heldAlive) holdLoopAlive();
    try {
      for (;;) {
        Atomics.store(this.#words, this.#index, 1); // makes the producer notify after its next publish
        if (this.#ready() || expired) break;
        const waiter = waitWordAsync(this.#words, this.#index, 1);
        if (waiter.async) await waiter.value;
      }
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      if (heldAlive) letLoopGo();
    }
    Atomics.store(this.#words, this.#index, 0); // makes the producer skip notify again
    return this.#ready();
  }
}
