/**
 * The period of a run's observers (`onStats`, the progress view): never a reason for the
 * process to stay alive, and honoured whatever its length. setInterval turns a period of 2^31
 * ms or more, and Infinity, into 1 ms: `statsIntervalMs: Infinity` called `onStats` a thousand
 * times a second. Here such a period runs on chained long timeouts, and Infinity never fires.
 */
import { kMaxTimerMs, setLongTimeout, type LongTimeout } from '../../timers/long-timeout.js';

/** A repeating observer timer; `clear()` stops it for good. */
export interface ObserverInterval {
  clear(): void;
}

/** Calls `callback` every `periodMs` (a number > 0; Infinity: never), unref'd, until cleared. */
export function setObserverInterval(callback: () => void, periodMs: number): ObserverInterval {
  if (periodMs <= kMaxTimerMs) {
    const timer = setInterval(callback, periodMs);
    timer.unref();
    return {
      clear: () => {
        clearInterval(timer);
      },
    };
  }
  let timer: LongTimeout | undefined;
  const arm = (): void => {
    timer = setLongTimeout(() => {
      arm(); // first: a callback that clears the interval clears this new timer
      callback();
    }, periodMs).unref();
  };
  arm();
  return {
    clear: () => {
      timer?.clear();
    },
  };
}
