/**
 * Waiting, without blocking the event loop, for a shared Int32 word to change: how a writer
 * waits for space in a full arena. Works on the main thread and in workers.
 */

import { abortReason } from '../../errors.js';
// setTimeout's largest delay: a longer wait re-arms a slice at a time.
import { kMaxTimerMs } from '../../timers/long-timeout.js';
import { waitWordAsync } from '../../platform/wait-word.js';

export type WaitOutcome = 'changed' | 'timed-out';

/**
 * Resolves when `word[index]` no longer holds `seen` (or after a spurious wake: callers re-check),
 * 'timed-out' at `deadlineMs` (a `performance.now()` time, Infinity for none). Rejects with the
 * signal's reason on abort. Keeps the process alive while waiting (checked on Node 20: a pending
 * `Atomics.waitAsync` alone does not), since a writer waiting for space is pending work.
 */
export async function waitForChange(
  word: Int32Array,
  index: number,
  seen: number,
  deadlineMs: number,
  signal: AbortSignal | undefined,
): Promise<WaitOutcome> {
  if (signal?.aborted) throw abortReason(signal);
  const remainingMs = deadlineMs - performance.now();
  if (remainingMs <= 0) return 'timed-out';
  const sliceMs = Math.min(remainingMs, kMaxTimerMs);
  const result = waitWordAsync(word, index, seen, sliceMs);
  if (!result.async) return result.value === 'not-equal' ? 'changed' : outcomeAt(deadlineMs);
  const settled = result.value;
  // The timer both keeps the process alive (a pending Atomics.waitAsync alone does not) and
  // ends the slice itself: the waitAsync's own timeout may fire after the loop has gone idle.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const sliceEnded = new Promise<'timed-out'>((resolve) => {
    timer = setTimeout(resolve, sliceMs, 'timed-out');
  });
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<'aborted'>((resolve) => {
    onAbort = () => {
      resolve('aborted');
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  try {
    // An abandoned Atomics.waitAsync needs no cleanup: it ends at the next wake or its own
    // timeout, and does not hold the process open.
    const outcome = await Promise.race([settled, sliceEnded, aborted]);
    if (outcome === 'aborted') throw abortReason(signal as AbortSignal);
    return outcome === 'timed-out' ? outcomeAt(deadlineMs) : 'changed';
  } finally {
    clearTimeout(timer);
    if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
  }
}

/** A slice that timed out before the deadline is not a timeout of the whole wait. */
function outcomeAt(deadlineMs: number): WaitOutcome {
  return performance.now() >= deadlineMs ? 'timed-out' : 'changed';
}
