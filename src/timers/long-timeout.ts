/**
 * setTimeout and setInterval for any delay. Node's timers hold a signed 32-bit delay: 2^31 ms or more (and
 * Infinity) becomes 1 ms with only a TimeoutOverflowWarning, so a "no timeout" of Infinity or a
 * week-long one fired at once. Here Infinity arms nothing, and a longer delay chains timers of
 * at most kMaxTimerMs. Shared by both sides; every keel timeout goes through it.
 */

/** setTimeout's largest delay (2^31 - 1 ms, ~24.8 days). */
export const kMaxTimerMs = 2 ** 31 - 1;

/** A pending timeout: cancel it, or choose whether it keeps the event loop alive. */
export interface LongTimeout {
  clear(): void;
  ref(): this;
  unref(): this;
}

/**
 * Calls `callback` once after `delayMs` (a number >= 0; Infinity: never). Like setTimeout, the
 * timer keeps the event loop alive until `unref()`; an Infinity timeout never does.
 */
export function setLongTimeout(callback: () => void, delayMs: number): LongTimeout {
  if (delayMs === Infinity) return kNever;
  let keepsAlive = true;
  let timer: ReturnType<typeof setTimeout>;
  // A timer never fires before its delay (libuv's monotonic clock), so counting slices keeps
  // the whole delay without reading a clock.
  const arm = (remainingMs: number): void => {
    timer =
      remainingMs > kMaxTimerMs
        ? setTimeout(() => {
            arm(remainingMs - kMaxTimerMs);
          }, kMaxTimerMs)
        : setTimeout(callback, remainingMs);
    if (!keepsAlive) timer.unref();
  };
  arm(delayMs);
  const handle: LongTimeout = {
    clear: () => {
      clearTimeout(timer);
    },
    ref: () => {
      keepsAlive = true;
      timer.ref();
      return handle;
    },
    unref: () => {
      keepsAlive = false;
      timer.unref();
      return handle;
    },
  };
  return handle;
}

const kNever: LongTimeout = {
  clear: () => undefined,
  ref: () => kNever,
  unref: () => kNever,
};

/** A repeating timer; `clear()` stops it for good. */
export interface LongInterval {
  clear(): void;
}

/**
 * Calls `callback` every `periodMs` (a number > 0; Infinity: never) until cleared, never keeping
 * the process alive (an observer's period: stats, a progress view, a loop monitor). setInterval
 * turns 2^31 ms or more into 1 ms; such a period runs on chained long timeouts here.
 */
export function setLongInterval(callback: () => void, periodMs: number): LongInterval {
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
