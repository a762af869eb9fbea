/**
 * The public options of monitorLoop and RealtimeLoop: shapes, defaults and validation. Every
 * options object is checked against its list of keys (a misspelled `blokMs` is an error, not a
 * silent default) and every value against its bounds, before anything starts.
 */
import { invalidArgument } from '../errors.js';
import type { PercentileSummary } from '../metrics/histogram.js';
import { checkFunction, checkInteger, checkTimeoutMs } from '../options/checks.js';
import { checkOptions, type OptionKeys } from '../options/known-keys.js';
import {
  kSchedulingKeys,
  schedulingRequest,
  type SchedulingOptions,
} from '../options/scheduling-options.js';
import type { SchedulingRequest } from '../platform/scheduling.js';

/** Options of `monitorLoop()`. */
export interface MonitorLoopOptions {
  /** An event-loop stall longer than this many ms counts as a block. Default 1; at most 60000. */
  readonly blockMs?: number;
  /** Called once per block, just after it ended, with its duration in ms. */
  readonly onBlock?: (durationMs: number) => void;
  /**
   * How often the monitor's timer samples the delay, in whole ms, from 1 to 1000. Default: half
   * of blockMs, at least 1 and at most 10.
   */
  readonly sampleIntervalMs?: number;
}

/** What `LoopMonitor.stats()` reports. */
export interface LoopMonitorStats {
  /** How late the monitor's timer ran, in ms: the event-loop delay. */
  readonly delayMs: PercentileSummary;
  /** Blocks seen (delays longer than blockMs). */
  readonly blocks: number;
}

interface CommonLoopOptions {
  /**
   * Ticks per second: a number > 0 and at most 10000 (kMaxHz). Tick n is due at start + n / hz
   * seconds.
   */
  readonly hz: number;
  /**
   * How long before each deadline the loop stops sleeping and watches the clock instead, in µs,
   * from 0 to one period (1e6 / hz): more costs CPU, less risks lateness when the sleep wakes late.
   * - Calling thread, default 500: a timer (whole milliseconds, up to ~1 ms early or late) is
   *   armed for the time left minus spinUs, rounded down; what remains (spinUs to spinUs + 1 ms)
   *   is spent polling the clock with setImmediate, which keeps the event loop serving I/O.
   * - Worker, default 200: Atomics.wait (which wakes ~0.1 ms late) until spinUs before the
   *   deadline, then a spin on the clock; 0 sleeps all the way (no spin, ~0.1 ms late).
   * A default longer than the period is cut to the period.
   */
  readonly spinUs?: number;
  /**
   * Called once with the error that stopped the loop: a tick threw or rejected (or, in a worker,
   * the worker died). Without it the error is raised as an uncaught exception, unless stop() was
   * already called. stop() rejects with it either way.
   */
  readonly onError?: (error: unknown) => void;
}

/** Options of `new RealtimeLoop()`: a loop on the calling thread. */
export interface RealtimeLoopOptions extends CommonLoopOptions {
  /** The work of one tick, given `performance.now()` at its start. An async tick is awaited. */
  readonly tick: (nowMs: number) => unknown;
}

/**
 * Options of `RealtimeLoop.inWorker` (the tick is the module's export). `priority`, `rtPriority`,
 * `cpus` and `priorityFallback` give the loop's thread a scheduling class and CPUs
 * (docs/realtime.md, "Scheduling"): `{ priority: 'realtime', cpus: [1] }` is SCHED_FIFO 80 on
 * CPU 1.
 */
export interface WorkerLoopOptions extends CommonLoopOptions, SchedulingOptions {
  /**
   * How long inWorker waits for the module to load and `setup()` to return, in ms. Then it
   * rejects with ERR_TIMEOUT and the worker is terminated. Default: no limit (Infinity).
   */
  readonly startTimeoutMs?: number;
}

/** Options of `loop.stop()`. */
export interface StopLoopOptions {
  /**
   * How long to wait for a running tick to finish, in ms (Infinity: no limit). Then stop()
   * rejects with ERR_TIMEOUT (a worker loop's thread is terminated first). Default 5000.
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

const kDefaultLocalSpinUs = 500;
const kDefaultWorkerSpinUs = 200;
const kDefaultStopTimeoutMs = 5000;
/**
 * The highest rate a loop accepts. Between two ticks a loop reads the clock, records the tick and
 * turns its event loop once (tens of µs on either side, more on a loaded machine): above 10 kHz
 * no deadline could be met, and every tick would only be counted as missed.
 */
const kMaxHz = 10_000;
const kDefaultBlockMs = 1;
/** A stall of a minute is a hang, not a block: a larger threshold is a mistake. */
const kMaxBlockMs = 60_000;
const kMaxDefaultSampleIntervalMs = 10;
/** A sampler slower than once a second cannot tell one block from the next. */
const kMaxSampleIntervalMs = 1000;

const kRealtimeLoopKeys: OptionKeys<RealtimeLoopOptions> = {
  hz: true,
  spinUs: true,
  onError: true,
  tick: true,
};
const kWorkerLoopKeys: OptionKeys<WorkerLoopOptions> = {
  hz: true,
  spinUs: true,
  onError: true,
  startTimeoutMs: true,
  ...kSchedulingKeys,
};
const kStopLoopKeys: OptionKeys<StopLoopOptions> = { timeoutMs: true };
const kMonitorLoopKeys: OptionKeys<MonitorLoopOptions> = {
  blockMs: true,
  onBlock: true,
  sampleIntervalMs: true,
};

/** `new RealtimeLoop(options)`: the settings and the tick, or ERR_INVALID_ARGUMENT. */
export function localLoopSettings(options: unknown): {
  settings: LoopSettings;
  tick: (nowMs: number) => unknown;
} {
  requireObject(options, 'an object with hz and tick');
  checkOptions('options', options, kRealtimeLoopKeys);
  const { tick } = options;
  const settings = loopSettings(options, kDefaultLocalSpinUs);
  if (typeof tick !== 'function') throw invalidArgument('tick', 'a function', tick);
  return { settings, tick };
}

/**
 * `RealtimeLoop.inWorker(..., options)`: the settings, the start timeout (Infinity: none) and
 * the scheduling the worker applies to its thread (undefined: none asked for).
 */
export function workerLoopSettings(options: unknown): {
  settings: LoopSettings;
  startTimeoutMs: number;
  scheduling: SchedulingRequest | undefined;
} {
  requireObject(options, 'an object with hz');
  checkOptions('options', options, kWorkerLoopKeys);
  const settings = loopSettings(options, kDefaultWorkerSpinUs);
  const startTimeoutMs = checkTimeoutMs('startTimeoutMs', options.startTimeoutMs) ?? Infinity;
  return { settings, startTimeoutMs, scheduling: schedulingRequest(options) };
}

/** `stop(options)`: the timeout for the running tick. */
export function stopTimeoutMs(options: unknown): number {
  checkOptions('options', options, kStopLoopKeys);
  return checkTimeoutMs('timeoutMs', options?.timeoutMs) ?? kDefaultStopTimeoutMs;
}

export function monitorSettings(options: unknown): MonitorSettings {
  checkOptions('options', options, kMonitorLoopKeys);
  // `=== undefined`, not `??`: a null blockMs is a mistake to report, not a default.
  const blockMs = options?.blockMs === undefined ? kDefaultBlockMs : checkBlockMs(options.blockMs);
  const onBlock = options?.onBlock;
  checkFunction('onBlock', onBlock);
  const sampleIntervalMs =
    options?.sampleIntervalMs === undefined
      ? Math.min(kMaxDefaultSampleIntervalMs, Math.max(1, Math.floor(blockMs / 2)))
      : checkInteger('sampleIntervalMs', options.sampleIntervalMs, 1, kMaxSampleIntervalMs);
  return { blockMs, sampleIntervalMs, onBlock };
}

function requireObject(options: unknown, expected: string): asserts options is object {
  // checkOptions lets undefined through (most options objects are optional; these are not).
  if (options === undefined) throw invalidArgument('options', expected, options);
}

function loopSettings(options: CommonLoopOptions, defaultSpinUs: number): LoopSettings {
  const { hz, spinUs, onError } = options;
  const periodMs = periodMsOf(hz);
  const periodUs = periodMs * 1000;
  const spinMs =
    (spinUs === undefined ? Math.min(defaultSpinUs, periodUs) : checkSpinUs(spinUs, periodUs)) /
    1000;
  checkFunction('onError', onError);
  return { periodMs, spinMs, onError };
}

/** The period of `hz` in ms: a finite number > 0 at most kMaxHz, with a finite period. */
function periodMsOf(hz: unknown): number {
  if (typeof hz !== 'number' || !Number.isFinite(hz) || !(hz > 0)) {
    throw invalidArgument('hz', 'a finite number > 0', hz);
  }
  if (hz > kMaxHz) {
    throw invalidArgument(
      'hz',
      `at most ${kMaxHz} (no loop keeps a period shorter than 100 µs: do more per tick at a lower rate)`,
      hz,
    );
  }
  const periodMs = 1000 / hz;
  // Only a subnormal hz (below ~1e-305) has an infinite period.
  if (!Number.isFinite(periodMs)) throw invalidArgument('hz', 'a number with a finite period', hz);
  return periodMs;
}

function checkSpinUs(spinUs: unknown, periodUs: number): number {
  if (typeof spinUs !== 'number' || !Number.isFinite(spinUs) || !(spinUs >= 0)) {
    throw invalidArgument('spinUs', 'a finite number >= 0', spinUs);
  }
  // Spinning longer than a period would watch the clock through the previous deadline too.
  if (spinUs > periodUs) {
    throw invalidArgument('spinUs', `at most one period (1e6 / hz = ${periodUs} µs)`, spinUs);
  }
  return spinUs;
}

function checkBlockMs(blockMs: unknown): number {
  if (typeof blockMs !== 'number' || !Number.isFinite(blockMs) || !(blockMs > 0)) {
    throw invalidArgument('blockMs', 'a finite number > 0', blockMs);
  }
  if (blockMs > kMaxBlockMs) {
    throw invalidArgument('blockMs', `at most ${kMaxBlockMs} (a longer stall is a hang)`, blockMs);
  }
  return blockMs;
}
