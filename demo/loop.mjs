// The demo's 1 kHz scheduler, kept in one small function so that keel's RealtimeLoop
// (issue 5) can replace it without touching the measurements around it.
//
// What it does: it re-queues itself with setImmediate, so it runs once per turn of the event
// loop, and each time compares performance.now() with the next deadline of a fixed schedule
// (start + k × period). When a deadline has passed it calls onTick once, with how late it is.
// Deadlines that passed entirely while the thread was busy are skipped (reported as
// `skipped`), not made up in a burst, as a controller would do.
//
// Why not setInterval(fn, 1): Node's timers have millisecond granularity and cannot hold
// 1 kHz even on an idle machine (about 4,500 ticks in 5 s instead of 5,000 on the reference
// machine). The price of polling: the event loop never sleeps, so the main thread keeps one
// core 100 % busy. Other callbacks (I/O, worker messages, timers) still run between polls.

/**
 * Start calling `onTick({ deadlineMs, nowMs, latenessMs, skipped })` `hz` times a second.
 * The options mirror keel's RealtimeLoop ({ hz, tick }) to keep the swap small.
 * @param {{ hz: number, onTick: (tick: object) => void }} options
 * @returns {{ stop(): Promise<void> }} stop() resolves once the loop has made its last poll.
 */
export function startLoop({ hz, onTick }) {
  const periodMs = 1000 / hz;
  let nextDeadlineMs = performance.now() + periodMs;
  let running = true;
  let markStopped;
  const stopped = new Promise((resolve) => (markStopped = resolve));

  function poll() {
    if (!running) return markStopped();
    const nowMs = performance.now();
    if (nowMs >= nextDeadlineMs) {
      const latenessMs = nowMs - nextDeadlineMs;
      const skipped = Math.floor(latenessMs / periodMs);
      const deadlineMs = nextDeadlineMs;
      // Advance first: the next deadline is the first one still in the future now.
      nextDeadlineMs += (skipped + 1) * periodMs;
      onTick({ deadlineMs, nowMs, latenessMs, skipped });
    }
    setImmediate(poll);
  }

  setImmediate(poll);
  return {
    stop() {
      running = false;
      return stopped;
    },
  };
}
