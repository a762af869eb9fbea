/**
 * How many pool threads may be starting at once, and what a failed start means.
 *
 * A start costs the calling thread milliseconds of synchronous work (`new Worker`, the lane's
 * shared memory): a burst of 200 tasks on a large maxThreads used to start them all in one turn
 * and block the event loop for seconds. So at most `slots()` threads start at once, the next when
 * one comes online.
 *
 * After a start failed, until a thread comes online: with no thread alive, one start at a time,
 * each on demand (a run that needs a thread); with threads alive, the tasks wait for them and
 * one more start is tried at most every kStartRetryMs, so a transient failure (no memory for a
 * thread right now) does not shrink the pool for good. Nothing restarts in the background: a
 * pool whose threads can never start rejects its tasks instead of retrying forever.
 */
import { availableParallelism } from 'node:os';
import { KeelError } from '../../errors.js';

/**
 * Threads starting at once: one per CPU (their boots run in parallel), at least 2, at most 8 so
 * that one burst never blocks the caller's loop for more than a few starts.
 */
export const kMaxStarting = Math.min(8, Math.max(2, availableParallelism()));

/** After a failed start, with threads alive, how long before another start is tried. */
export const kStartRetryMs = 1000;

export class StartGate {
  /** Why the last start failed, until a thread comes online. */
  #failure: KeelError | undefined;
  #failedAt = 0;

  get failed(): boolean {
    return this.#failure !== undefined;
  }

  /** How many threads may be starting at once now, with `live` threads alive. */
  slots(live: number): number {
    if (!this.#failure) return kMaxStarting;
    if (live === 0) return 1;
    return performance.now() - this.#failedAt >= kStartRetryMs ? 1 : 0;
  }

  /** Records a failed start; returns it as keel reports it (ERR_START_FAILED, Node's cause). */
  fail(error: unknown): KeelError {
    this.#failure = startFailedError(error);
    this.#failedAt = performance.now();
    return this.#failure;
  }

  /** A thread came online: starting works (again). */
  online(): void {
    this.#failure = undefined;
  }
}

function startFailedError(error: unknown): KeelError {
  // ERR_PERMISSION: the OS refused the pool's scheduling class, which says how to grant it.
  if (
    error instanceof KeelError &&
    (error.code === 'ERR_START_FAILED' || error.code === 'ERR_PERMISSION')
  ) {
    return error;
  }
  const reason = error instanceof Error ? error.message : String(error);
  return new KeelError('ERR_START_FAILED', `could not start a pool thread: ${reason}`, {
    cause: error,
  });
}

/** One error per rejected call: each caller's stack is appended to its own copy. */
export function sameFailure(failure: KeelError): KeelError {
  return new KeelError(failure.code, failure.message, { cause: failure.cause });
}
