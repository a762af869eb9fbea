/**
 * The schedule shared by RealtimeLoop on the calling thread (realtime/local-loop.ts) and in a
 * worker (worker/loop-server.ts): deadlines that do not drift, the rule for skipping missed
 * ticks, and the two precise waits (a blocking one for a worker, an event-loop-friendly one for
 * the calling thread). Both wait in two stages: a coarse sleep that may wake late, ending
 * `spinMs` before the deadline, then a short precise stage that watches the clock.
 */
import { nowMs, wakeAfter, wakeSoon, type PendingWake } from './clock.js';
import { waitWord } from '../platform/wait-word.js';

/** Where a loop records its ticks: a RealtimeLoop's `LoopStatsMemory` (memory/loop-stats.ts). */
export interface TickRecorder {
  /** A tick starts `latenessUs` after its deadline; `skipped` ticks before it were dropped. */
  recordTick(latenessUs: number, skipped: number): void;
}

/**
 * Deadlines of a fixed-rate loop: deadline_n = originMs + n * periodMs, n = 1, 2, ... Computed
 * from the origin every time, never by adding periods up, so rounding and late ticks do not
 * accumulate into drift.
 */
export class DeadlineClock {
  readonly #originMs: number;
  readonly #periodMs: number;
  #index = 1;

  constructor(originMs: number, periodMs: number) {
    this.#originMs = originMs;
    this.#periodMs = periodMs;
  }

  /** The deadline of the next tick to run. */
  get deadlineMs(): number {
    return this.#originMs + this.#index * this.#periodMs;
  }

  /**
   * Called when the next tick is about to run at `atMs`. A tick whose deadline passed by a full
   * period or more is skipped: the loop moves on to the latest deadline that has passed (which
   * is then less than one period late). Returns how many ticks were skipped.
   */
  skipMissed(atMs: number): number {
    const latest = Math.floor((atMs - this.#originMs) / this.#periodMs);
    if (latest <= this.#index) return 0;
    const skipped = latest - this.#index;
    this.#index = latest;
    return skipped;
  }

  /** Moves on to the tick after the one that just ran. */
  advance(): void {
    this.#index++;
  }
}

/**
 * Starts the tick due at `clock.deadlineMs` (whose deadline has come): skips the ticks missed
 * before it, records its lateness and calls it with the current time. Returns the promise of an
 * async tick (to await before the next), else undefined. The same on both sides.
 */
export function startTick(
  clock: DeadlineClock,
  memory: TickRecorder,
  tick: (nowMs: number) => unknown,
): PromiseLike<unknown> | undefined {
  const startedMs = nowMs();
  const skipped = clock.skipMissed(startedMs);
  memory.recordTick((startedMs - clock.deadlineMs) * 1000, skipped);
  const result = tick(startedMs);
  return isThenable(result) ? result : undefined;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * Worker threads only: blocks until `deadlineMs`. Sleeps in `Atomics.wait` on
 * `control[index]` (which wakes ~0.1 ms late on Linux) until `spinMs` before the deadline, then
 * spins on the clock. Returns false at once, without waiting for the deadline, when
 * `control[index]` stops holding `runningValue` (another thread asked the loop to stop and
 * notified the word).
 */
export function sleepUntil(
  deadlineMs: number,
  spinMs: number,
  control: Int32Array,
  index: number,
  runningValue: number,
): boolean {
  for (;;) {
    if (Atomics.load(control, index) !== runningValue) return false;
    const sleepMs = deadlineMs - nowMs() - spinMs;
    if (sleepMs <= 0) break;
    waitWord(control, index, runningValue, sleepMs);
  }
  while (nowMs() < deadlineMs) {
    if (Atomics.load(control, index) !== runningValue) return false;
  }
  return true;
}

/**
 * The calling thread's wait: a timer until `spinMs` before the deadline (timers have millisecond
 * granularity and may fire up to ~1 ms early or late), then `setImmediate` polls of the clock.
 * Polling keeps the event loop serving I/O, timers and messages, one turn per poll, while it
 * costs CPU; the timer stage costs none. One wait at a time.
 *
 * A wait always settles from a macrotask (a timer or an immediate), never from the call itself,
 * even when its deadline has already passed: the loop awaits it between ticks, and a loop that
 * runs late for good (a tick longer than its period) would otherwise run tick after tick from
 * microtasks, so that no timer, no I/O and no stop() could ever run on this thread again.
 */
export class DeadlineWaiter {
  #pending: PendingWake | undefined;
  #settle: ((reached: boolean) => void) | undefined;
  #deadlineMs = 0;
  #spinMs = 0;
  #ref = true;

  /** Resolves true once the clock reaches `deadlineMs`, false when cancelled first. */
  wait(deadlineMs: number, spinMs: number): Promise<boolean> {
    this.#deadlineMs = deadlineMs;
    this.#spinMs = spinMs;
    return new Promise((resolve) => {
      this.#settle = resolve;
      this.#schedule(deadlineMs - nowMs());
    });
  }

  /** Ends the current wait (it resolves false). */
  cancel(): void {
    this.#pending?.cancel();
    this.#finish(false);
  }

  /** Whether a wait keeps the process alive (like a ref'd timer). */
  setRef(ref: boolean): void {
    this.#ref = ref;
    this.#pending?.setRef(ref);
  }

  /** A timer or an immediate (in a macrotask, then) ends the wait: settles once the deadline came. */
  readonly #step = (): void => {
    this.#pending = undefined;
    const remainingMs = this.#deadlineMs - nowMs();
    if (remainingMs <= 0) this.#finish(true);
    else this.#schedule(remainingMs);
  };

  readonly #reached = (): void => {
    this.#pending = undefined;
    this.#finish(true);
  };

  #schedule(remainingMs: number): void {
    // Already due when the wait began: one turn of the event loop, then settle.
    if (remainingMs <= 0) this.#pending = wakeSoon(this.#reached, this.#ref);
    else if (remainingMs - this.#spinMs >= 1) {
      this.#pending = wakeAfter(Math.floor(remainingMs - this.#spinMs), this.#step, this.#ref);
    } else this.#pending = wakeSoon(this.#step, this.#ref);
  }

  #finish(reached: boolean): void {
    const settle = this.#settle;
    this.#settle = undefined;
    this.#pending = undefined;
    settle?.(reached);
  }
}
