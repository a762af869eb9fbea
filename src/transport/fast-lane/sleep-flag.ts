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
 *
 * A consumer parked in `waitAsync` whose side route wakes its event loop by itself (a
 * MessagePort with a listener: fast-lane/lane-end.ts) stores 2 instead of 1. A producer that
 * sent over that route then leaves the flag alone (`wakeSleeperBeside`): the message's own
 * arrival ends the wait, and a notify as well was a second wake-up of the consumer's thread for
 * one message (its event loop woke for the port, found nothing to do, slept, and woke again for
 * the notify: a 1.2 MB moved result's return leg took ~90 µs against ~45 for a plain
 * postMessage). Ring frames and closes still clear and notify on 2. No wake-up is lost: the
 * producer posts before it loads the flag, and a consumer that stored 2 after that load sees
 * the message (or its announcement) in its check before parking.
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
  if (Atomics.load(words, flagIndex) !== 0 && Atomics.exchange(words, flagIndex, 0) !== 0) {
    wakeWord(words, flagIndex);
    return true;
  }
  return false;
}

/**
 * Producer side, after a message posted over a side route that wakes a listening consumer by
 * itself: notifies only a consumer that sleeps without listening (flag 1). Returns true when
 * the consumer was asleep either way.
 */
export function wakeSleeperBeside(words: Int32Array, flagIndex: number): boolean {
  const flag = Atomics.load(words, flagIndex);
  if (flag === 0) return false;
  if (flag === kParkedBeside) return true;
  if (Atomics.compareExchange(words, flagIndex, 1, 0) === 1) wakeWord(words, flagIndex);
  return true;
}

/** The flag of a consumer parked asynchronously whose side route wakes it (see above). */
const kParkedBeside = 2;

/**
 * A side route that ends an async wait by itself when a message arrives over it (a listening
 * MessagePort), so that its sender need not notify.
 */
export interface SideWake {
  /** True while a message that arrived over the route waits to be taken. */
  arrived(): boolean;
  /** Settles once `arrived()` is true (at once if it is). */
  arrival(): Promise<void>;
}

/**
 * The consumer's waits on one flag. `ready` says whether there is something to look at; it must
 * read the shared state with Atomics loads. One wait at a time; for the consumer's thread only.
 */
export class SleepFlag {
  readonly #words: Int32Array;
  readonly #index: number;
  readonly #ready: () => boolean;
  /**
   * The pending async wait (`waitWordAsync`) of a wait that a side arrival ended: reused by the next
   * park (it settles at the next notify, which is what a new one would wait for) so that such
   * waits do not pile up while messages keep arriving beside the ring.
   */
  #parked: Promise<unknown> | undefined;
  /**
   * Ends the current wait when the parked async wait settles. The parked promise has
   * this one reaction, set when it is made, whatever number of waits reuse it: a reaction added
   * per wait (`Promise.race([parked, arrival])`) stayed on it until the next notify, so that a
   * stream of messages arriving beside the ring (moved results) piled up thousands of them,
   * with their promises and contexts, and lengthened the caller's full collections.
   */
  #wakeWaiter: (() => void) | undefined;

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
   * Parks in an async wait on the flag (`waitWordAsync`: the event loop runs) until `ready()` or the timeout.
   * Allocates a promise per sleep, and a timer when the wait has a timeout.
   */
  async waitAsync(timeoutMs: number, keepAlive: boolean, beside?: SideWake): Promise<boolean> {
    const ready = beside === undefined ? this.#ready : () => this.#ready() || beside.arrived();
    if (ready() || !(timeoutMs > 0)) return ready();
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
      const flag = beside === undefined ? 1 : kParkedBeside;
      for (;;) {
        Atomics.store(this.#words, this.#index, flag); // makes the producer notify after its next publish
        if (ready() || expired) break;
        // A flag that changed before the park means something to look at: look again.
        if (this.#parked === undefined && !this.#park(flag)) continue;
        await new Promise<void>((resolve) => {
          this.#wakeWaiter = resolve;
          if (beside !== undefined) void beside.arrival().then(resolve);
        });
        this.#wakeWaiter = undefined;
      }
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      if (heldAlive) letLoopGo();
    }
    Atomics.store(this.#words, this.#index, 0); // makes the producer skip notify again
    return ready();
  }

  /** Parks a new async wait on the flag; false when the flag no longer holds `flag`. */
  #park(flag: number): boolean {
    const waiter = waitWordAsync(this.#words, this.#index, flag);
    if (!waiter.async) return false;
    this.#parked = waiter.value.then(() => {
      this.#parked = undefined;
      this.#wakeWaiter?.();
    });
    return true;
  }
}
