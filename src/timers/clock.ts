/**
 * The Node specifics of the real-time tools, in one place: the clock, timers and immediates that
 * can be cancelled and (un)ref'd, and raising an error the way a throwing timer callback does.
 * Both sides (a RealtimeLoop runs on the calling thread or in a worker): schedule.ts,
 * src/realtime/ and worker/loop-server.ts are plain JavaScript over these.
 */
import { performance } from 'node:perf_hooks';
import { kMaxTimerMs } from './long-timeout.js';

/** Milliseconds on this thread's monotonic high-resolution clock (`performance.now()`). */
export function nowMs(): number {
  return performance.now();
}

/** A scheduled callback: cancel it, or choose whether it keeps the process alive. */
export interface PendingWake {
  cancel(): void;
  setRef(ref: boolean): void;
}

/**
 * Calls `callback` after about `delayMs` (millisecond granularity: up to ~1 ms early or late):
 * a scheduling delay, for callers that check the clock again when woken. A delay past
 * setTimeout's limit (2^31 - 1 ms, which Node would turn into 1 ms) wakes at the limit instead.
 * A timeout that must fire exactly once, however long, is setLongTimeout's job.
 */
export function wakeAfter(delayMs: number, callback: () => void, ref: boolean): PendingWake {
  const timer = setTimeout(callback, Math.min(delayMs, kMaxTimerMs));
  if (!ref) timer.unref();
  return {
    cancel: () => {
      clearTimeout(timer);
    },
    setRef: (keepAlive) => {
      if (keepAlive) timer.ref();
      else timer.unref();
    },
  };
}

/** Calls `callback` in the next turn of the event loop, after pending I/O (`setImmediate`). */
export function wakeSoon(callback: () => void, ref: boolean): PendingWake {
  const immediate = setImmediate(callback);
  if (!ref) immediate.unref();
  return {
    cancel: () => {
      clearImmediate(immediate);
    },
    setRef: (keepAlive) => {
      if (keepAlive) immediate.ref();
      else immediate.unref();
    },
  };
}

/** Resolves in the next turn of the event loop: lets pending I/O, timers and messages run. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => {
    setImmediate(resolve);
  });
}

/**
 * Reports `error` as an uncaught exception of this thread (what a throwing `setInterval`
 * callback does): the process's 'uncaughtException' handlers see it, and without one the
 * process ends with it.
 */
export function raiseUncaught(error: unknown): void {
  process.nextTick(() => {
    throw error;
  });
}
