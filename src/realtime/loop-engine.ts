/**
 * The contract between the public RealtimeLoop and what runs its ticks: on the calling thread
 * (LocalLoopEngine) or on a dedicated worker (WorkerLoopEngine).
 */
import { KeelError } from '../errors.js';
import type { RealtimeLoopStats } from '../memory/loop-stats.js';
import type { SchedulingReport } from '../platform/scheduling.js';
import { setLongTimeout } from '../timers/long-timeout.js';
import { raiseUncaught } from '../timers/clock.js';

export interface LoopEngine {
  /** Starts ticking; a no-op when running; ERR_CLOSED once stopped or failed. */
  start(): void;
  stats(): RealtimeLoopStats;
  /** Ends the loop; resolves when nothing of it runs any more, rejects with its failure. */
  stop(timeoutMs: number): Promise<void>;
  /** Whether a running loop keeps the process alive (it does by default, like an interval). */
  setRef(ref: boolean): void;
  readonly running: boolean;
  /** What the OS applied to the loop's worker thread (worker loops given priority or cpus). */
  scheduling?(): SchedulingReport | undefined;
}

/**
 * Reports the error that stopped a loop: to onError when given; else, unless stop() is already
 * waiting (and will reject with it), as an uncaught exception, so that a failing loop is never
 * silent.
 */
export function reportFailure(
  error: unknown,
  onError: ((error: unknown) => void) | undefined,
  stopRequested: boolean,
): void {
  if (onError) {
    try {
      onError(error);
    } catch (thrown) {
      raiseUncaught(thrown);
    }
  } else if (!stopRequested) raiseUncaught(error);
}

/**
 * Settles when `work` does, or rejects with ERR_TIMEOUT after `timeoutMs` (then `onTimeout` runs
 * first). Any finite timeout is honoured, however long; Infinity waits without limit.
 */
export async function withinMs(
  work: Promise<unknown>,
  timeoutMs: number,
  what: string,
  onTimeout: () => Promise<void> | void,
): Promise<void> {
  let expired = false;
  let timer: { clear(): void } | undefined;
  const timeout = new Promise<void>((resolve) => {
    // Ref'd: a stop in progress is pending work, even when the tick it waits for is not.
    timer = setLongTimeout(() => {
      expired = true;
      resolve();
    }, timeoutMs);
  });
  try {
    await Promise.race([work, timeout]);
  } finally {
    timer?.clear();
  }
  if (!expired) return;
  await onTimeout();
  throw new KeelError('ERR_TIMEOUT', `${what} did not finish within timeoutMs (${timeoutMs} ms)`);
}
