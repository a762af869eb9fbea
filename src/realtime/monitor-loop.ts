/**
 * monitorLoop: how late this thread's event loop runs its timers, and every block (a stall
 * longer than blockMs), from one unref'd sampling timer.
 *
 * The timer is due every sampleIntervalMs after its previous run started; the delay of a sample
 * is how much later than that it actually ran. A block of B ms delays the next sample by at
 * least B - sampleIntervalMs and at most about B, so every block longer than
 * blockMs + sampleIntervalMs is seen, and the reported duration is within one sampling interval
 * (below) of the truth. Node's perf_hooks.monitorEventLoopDelay measures the same delay but
 * cannot say when a block ended; one sampler gives both.
 */
import { Histogram } from '../metrics/histogram.js';
import { nowMs } from '../timers/clock.js';
import { setLongInterval, type LongInterval } from '../timers/long-timeout.js';
import {
  monitorSettings,
  type LoopMonitorStats,
  type MonitorLoopOptions,
  type MonitorSettings,
} from './options.js';

/** A running (or stopped) event-loop monitor; see monitorLoop. */
export interface LoopMonitor extends Disposable {
  /** Delay percentiles and the number of blocks since the monitor started. */
  stats(): LoopMonitorStats;
  /** Stops sampling (idempotent); stats() keeps reporting what was seen. */
  stop(): void;
}

/**
 * Starts measuring this thread's event-loop delay and reporting blocks. The monitor's timer
 * never keeps the process alive. Defaults: blockMs 1 (at most 60000); sampleIntervalMs half of
 * blockMs, at least 1 and at most 10 (any whole number of ms from 1 to 1000 may be given). An
 * exception thrown by onBlock is an uncaught exception of this thread (as from any timer
 * callback); the monitor keeps running. Throws ERR_INVALID_ARGUMENT for bad options, unknown
 * keys included.
 *
 * @example
 * const monitor = monitorLoop({ blockMs: 20, onBlock: (ms) => console.warn(`blocked ${ms.toFixed(1)} ms`) });
 * // ...
 * console.log(monitor.stats()); // { delayMs: { p50, p99, max }, blocks }
 * monitor.stop();
 */
export function monitorLoop(options?: MonitorLoopOptions): LoopMonitor {
  return new EventLoopMonitor(monitorSettings(options));
}

class EventLoopMonitor implements LoopMonitor {
  readonly #settings: MonitorSettings;
  readonly #delayMs = new Histogram();
  #blocks = 0;
  #lastSampleMs: number;
  #sampling: LongInterval | undefined;

  constructor(settings: MonitorSettings) {
    this.#settings = settings;
    this.#lastSampleMs = nowMs();
    this.#sampling = setLongInterval(this.#sample, settings.sampleIntervalMs);
  }

  stats(): LoopMonitorStats {
    return { delayMs: this.#delayMs.summary(), blocks: this.#blocks };
  }

  stop(): void {
    this.#sampling?.clear();
    this.#sampling = undefined;
  }

  [Symbol.dispose](): void {
    this.stop();
  }

  readonly #sample = (): void => {
    const sampledMs = nowMs();
    // Node schedules the next run of an interval from the start of the previous one.
    const delayMs = Math.max(0, sampledMs - this.#lastSampleMs - this.#settings.sampleIntervalMs);
    this.#lastSampleMs = sampledMs;
    this.#delayMs.record(delayMs);
    if (delayMs <= this.#settings.blockMs) return;
    this.#blocks++;
    this.#settings.onBlock?.(delayMs);
  };
}
