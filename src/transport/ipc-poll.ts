/**
 * Keeping an event loop awake for an IPC message that is due soon. A process asleep in its
 * event loop (epoll) takes tens of microseconds to wake, on each side of a round trip; when
 * both processes keep their loops turning (a `setImmediate` chain makes libuv poll with a zero
 * timeout), a message is read as soon as it is written, no wake-up needed (BENCHMARKS.md,
 * spawn-latency, the process rows against raw IPC).
 *
 * Unlike the fast lane's spin, this never blocks the loop: timers, I/O and other callbacks run
 * between two turns. It costs CPU (a turn is ~1-3 µs: one epoll_wait and the check phase), so it
 * is bounded and adaptive, with the fast lane's policy (fast-lane/spin-policy.ts): poll at most
 * `windowUs` after a send while answers came inside the window, stop after two misses, probe
 * now and then. One instance per channel end; for its thread only.
 */
import { AdaptiveSpin } from './fast-lane/spin-policy.js';

export class IpcPoller {
  readonly #policy: AdaptiveSpin;
  /** A window is open: a message is expected. */
  #open = false;
  #deadlineMs = 0;
  #sentMs = 0;
  /** A turn is scheduled (the chain runs until the window closes). */
  #turning = false;

  constructor(windowUs: number) {
    this.#policy = new AdaptiveSpin({ maxSpinUs: windowUs });
  }

  /** A message was sent that is likely to be answered: keep the loop turning for a while. */
  sent(): void {
    this.#sentMs = performance.now();
    const budgetUs = this.#policy.budgetUs();
    if (!(budgetUs > 0)) {
      this.#open = false;
      return;
    }
    this.#open = true;
    this.#deadlineMs = this.#sentMs + budgetUs / 1000;
    if (!this.#turning) {
      this.#turning = true;
      setImmediate(this.#turn);
    }
  }

  /**
   * A message arrived: inside an open window a hit, otherwise a sleep of that length. The clock
   * decides, not whether the chain has noticed the deadline yet: a process descheduled past
   * its window can run the message's callback before the turn that would have closed it.
   */
  received(): void {
    if (this.#open) {
      this.#open = false;
      this.#policy.record(performance.now() < this.#deadlineMs);
    } else if (this.#sentMs > 0) {
      this.#policy.recordSleep((performance.now() - this.#sentMs) * 1000);
    }
    this.#sentMs = 0;
  }

  readonly #turn = (): void => {
    if (this.#open && performance.now() >= this.#deadlineMs) {
      this.#open = false;
      this.#policy.record(false);
    }
    if (this.#open) setImmediate(this.#turn);
    else this.#turning = false;
  };
}
