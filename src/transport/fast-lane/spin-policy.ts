/**
 * When to spin before sleeping. A thread asleep in `Atomics.wait` (or an event loop parked in
 * `Atomics.waitAsync`) takes tens of microseconds to wake, a spinning one sees a new frame in
 * well under a microsecond. Spinning pays only while the awaited message
 * tends to arrive inside the spin window; otherwise it burns CPU and then sleeps anyway, and on
 * a busy 2-core machine it also holds a core the other side may need to produce that message.
 *
 * Policy (a saturating confidence counter, like a branch predictor, with probing):
 * - a hit (the message arrived while spinning) sets confidence to the maximum (2);
 * - a miss (the window ran out) lowers it by one; at zero the side stops spinning and sleeps at
 *   once, except for probes: one wait in `probeEvery` (16) spins a full window; each failed
 *   probe doubles that interval, up to 256 waits; one hit resumes spinning and resets it.
 * - a sleep that ended inside the window (the message came that fast after all: a pause of the
 *   other side had caused the misses) makes the next wait a probe at once, unless probes have
 *   already failed since the last hit. Two threads that share one core (where spinning starves
 *   the side that should answer) thus settle on rare probes, and a passing hiccup costs only a
 *   few sleeps instead of a probe interval.
 * CPU cost per wait: while hitting, the actual wait (spinning replaces idle waiting one for
 * one); then at most two full windows for the misses that end a streak; then on average
 * `maxSpinUs / 16` falling to `maxSpinUs / 256` (50 µs: ~3 µs, then ~0.2 µs per wait).
 */

import { invalidArgument } from '../../errors.js';

const kMaxConfidence = 2;
const kDefaultProbeEvery = 16;
const kMaxProbeEvery = 256;

export interface AdaptiveSpinOptions {
  /** Longest spin of one wait, in microseconds; 0 disables spinning. */
  readonly maxSpinUs: number;
  /** While spinning is off, the first probe comes after this many waits (default 16). */
  readonly probeEvery?: number;
  /**
   * How long a probe spins (default `maxSpinUs`). Longer than the window on a worker's side:
   * when both ends have stopped spinning, the other end's next message comes after its own
   * wake-up (longer than the window), which a probe of the plain window cannot see.
   */
  readonly probeSpinUs?: number;
}

/**
 * Decides how long the next wait spins. One instance per waiting side, used by one thread;
 * plain arithmetic, never blocks or allocates.
 * @example
 * const spin = new AdaptiveSpin({ maxSpinUs: 50 });
 * const budgetUs = spin.budgetUs();
 * if (budgetUs > 0) spin.record(reader.spinFor(budgetUs));
 */
export class AdaptiveSpin {
  readonly #maxSpinUs: number;
  readonly #probeEvery: number;
  readonly #probeSpinUs: number;
  #confidence = kMaxConfidence;
  #probeInterval: number;
  #waitsSinceProbe = 0;
  #probing = false;
  #probeNext = false;

  constructor(options: AdaptiveSpinOptions) {
    const { maxSpinUs, probeEvery = kDefaultProbeEvery, probeSpinUs = maxSpinUs } = options;
    if (!(maxSpinUs >= 0) || !Number.isFinite(maxSpinUs)) {
      throw invalidArgument('maxSpinUs', 'a finite number >= 0', maxSpinUs);
    }
    if (!Number.isInteger(probeEvery) || probeEvery < 1) {
      throw invalidArgument('probeEvery', 'a positive integer', probeEvery);
    }
    if (!(probeSpinUs >= 0) || !Number.isFinite(probeSpinUs)) {
      throw invalidArgument('probeSpinUs', 'a finite number >= 0', probeSpinUs);
    }
    this.#maxSpinUs = maxSpinUs;
    this.#probeEvery = probeEvery;
    this.#probeSpinUs = maxSpinUs === 0 ? 0 : probeSpinUs;
    this.#probeInterval = probeEvery;
  }

  /** Microseconds the next wait should spin before sleeping (0: sleep at once). */
  budgetUs(): number {
    if (this.#maxSpinUs === 0) return 0;
    if (this.#confidence > 0) return this.#maxSpinUs;
    if (++this.#waitsSinceProbe < this.#probeInterval && !this.#probeNext) return 0;
    this.#waitsSinceProbe = 0;
    this.#probeNext = false;
    this.#probing = true;
    return this.#probeSpinUs;
  }

  /** Reports how a spin of the budget given by `budgetUs()` ended. */
  record(hit: boolean): void {
    if (hit) {
      this.#confidence = kMaxConfidence;
      this.#probeInterval = this.#probeEvery;
      this.#waitsSinceProbe = 0;
    } else if (this.#confidence > 0) {
      this.#confidence--;
    } else if (this.#probing) {
      this.#probeInterval = Math.min(
        this.#probeInterval * 2,
        Math.max(kMaxProbeEvery, this.#probeEvery),
      );
    }
    this.#probing = false;
  }

  /**
   * Reports a sleep (taken after `budgetUs()`) that ended with a message after `sleptUs`:
   * one shorter than the window means a spin would have caught it.
   */
  recordSleep(sleptUs: number): void {
    const wouldHaveHit = sleptUs < this.#maxSpinUs;
    const noFailedProbe = this.#probeInterval === this.#probeEvery;
    if (this.#confidence === 0 && noFailedProbe && wouldHaveHit) this.#probeNext = true;
  }

  /** True while recent waits were answered inside the spin window. */
  get spinning(): boolean {
    return this.#maxSpinUs > 0 && this.#confidence > 0;
  }

  /** The configured window, in microseconds. */
  get maxSpinUs(): number {
    return this.#maxSpinUs;
  }
}
