/**
 * The public options of monitorLoop and RealtimeLoop: shapes, defaults and validation.
 */
import { invalidArgument } from '../errors.js';
import type { PercentileSummary } from '../metrics/histogram.js';

export interface MonitorLoopOptions {
  /** An event-loop stall longer than this many ms counts as a block. Default 1. */
  readonly blockMs?: number;
  /** Called once per block, just after it ended, with its duration in ms. */
  readonly onBlock?: (durationMs: number) => void;
  /**
   * How often the monitor's timer samples the delay, in whole ms. Default: half of blockMs,
   * at least 1 and at most 10.
   */
  readonly sampleIntervalMs?: number;
}

export interface LoopMonitorStats {
  /** How late the monitor's timer ran, in ms: the event-loop delay. */
  readonly delayMs: PercentileSummary;
  /** Blocks seen (delays longer than blockMs). */
  readonly blocks: number;
}

interface CommonLoopOptions {
  /** Ticks per second: a finite number > 0. Tick n is due at start + n / hz seconds. */
  readonly hz: number;
  /**
   * How long before each deadline the loop stops sleeping and watches the clock instead, in µs:
   * more costs CPU, less risks lateness when the sleep wakes late.
   * - Calling thread, default 500: a timer (whole milliseconds, up to ~1 ms early or late) is
   *   armed for the time left minus spinUs, rounded down; what remains (spinUs to spinUs + 1 ms)
   *   is spent polling the clock with setImmediate, which keeps the event loop serving I/O.
   * - Worker, default 200: Atomics.wait (which wakes ~0.1 ms late) until spinUs before the
   *   deadline, then a spin on the clock; 0 sleeps all the way (no spin, ~0.1 ms late).
   */
  readonly spinUs?: number;
  /**
   * Called once with the error that stopped the loop: a tick threw or rejected (or, in a worker,
   * the worker died). Without it the error is raised as an uncaught exception, unless stop() was
   * already called. stop() rejects with it either way.
   */
  readonly onError?: (error: unknown) => void;
}

export interface RealtimeLoopOptions extends CommonLoopOptions {
  /** The work of one tick, given `performance.now()` at its start. An async tick is awaited. */
  readonly tick: (nowMs: number) => unknown;
}

/** Options of `RealtimeLoop.inWorker` (the tick is the module's export). */
export type WorkerLoopOptions = CommonLoopOptions;

export interface StopLoopOptions {
  /**
   * How long to wait for a running tick to finish. Then stop() rejects with ERR_TIMEOUT (a
   * worker loop's thread is terminated first). Default 5000.
   */
  readonly timeoutMs?: number;
}

/** Validated settings shared by both kinds of loop. */
export interface LoopSettings {
  readonly periodMs: number;
  readonly spinMs: number;
  readonly onError: ((error: unknown) => void) | undefined;
}

export interface MonitorSettings {
  readonly blockMs: number;
  readonly sampleIntervalMs: number;
  readonly onBlock: ((durationMs: number) => void) | undefined;
}

export const kDefaultLocalSpinUs = 500;
export const kDefaultWorkerSpinUs = 200;
export const kDefaultStopTimeoutMs = 5000;
const kDefaultBlockMs = 1;
const kMaxDefaultSampleIntervalMs = 10;

export function loopSettings(options: unknown, defaultSpinUs: number): LoopSettings {
  if (typeof options !== 'object' || options === null) {
    throw invalidArgument('options', 'an object with hz', options);
  }
  const { hz, spinUs = defaultSpinUs, onError } = options as Partial<CommonLoopOptions>;
  if (!(typeof hz === 'number' && Number.isFinite(hz) && hz > 0)) {
    throw invalidArgument('hz', 'a finite number > 0', hz);
  }
  if (!(typeof spinUs === 'number' && Number.isFinite(spinUs) && spinUs >= 0)) {
    throw invalidArgument('spinUs', 'a finite number >= 0', spinUs);
  }
  if (onError !== undefined && typeof onError !== 'function') {
    throw invalidArgument('onError', 'a function', onError);
  }
  return { periodMs: 1000 / hz, spinMs: spinUs / 1000, onError };
}

export function tickOption(options: unknown): (nowMs: number) => unknown {
  const tick = (options as Partial<RealtimeLoopOptions>).tick;
  if (typeof tick !== 'function') throw invalidArgument('tick', 'a function', tick);
  return tick;
}

export function stopTimeoutMs(options: StopLoopOptions | undefined): number {
  const timeoutMs = options?.timeoutMs ?? kDefaultStopTimeoutMs;
  if (!(typeof timeoutMs === 'number' && timeoutMs >= 0)) {
    throw invalidArgument('timeoutMs', 'a number >= 0', timeoutMs);
  }
  return timeoutMs;
}

export function monitorSettings(options: MonitorLoopOptions | undefined): MonitorSettings {
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw invalidArgument('options', 'an object or undefined', options);
  }
  const { blockMs = kDefaultBlockMs, onBlock } = options ?? {};
  if (!(typeof blockMs === 'number' && Number.isFinite(blockMs) && blockMs > 0)) {
    throw invalidArgument('blockMs', 'a finite number > 0', blockMs);
  }
  if (onBlock !== undefined && typeof onBlock !== 'function') {
    throw invalidArgument('onBlock', 'a function', onBlock);
  }
  const sampleIntervalMs =
    options?.sampleIntervalMs ??
    Math.min(kMaxDefaultSampleIntervalMs, Math.max(1, Math.floor(blockMs / 2)));
  if (!(Number.isInteger(sampleIntervalMs) && sampleIntervalMs >= 1)) {
    throw invalidArgument('sampleIntervalMs', 'an integer >= 1', sampleIntervalMs);
  }
  return { blockMs, sampleIntervalMs, onBlock };
}
