/**
 * Pool options: the public shape, defaults and validation.
 */
import { availableParallelism } from 'node:os';
import { invalidArgument } from '../../errors.js';
import type { PercentileSummary } from '../../metrics/histogram.js';
import type { Arena, ArenaOptions } from '../../memory/arena/index.js';
import {
  checkBoolean,
  checkInteger,
  checkNonNegative,
  checkSignal,
  checkThreadCount,
  checkTimeoutMs,
} from '../../options/checks.js';
import { checkOptions, type OptionKeys } from '../../options/known-keys.js';
import {
  kSchedulingKeys,
  pickSchedulingOptions,
  type SchedulingOptions,
} from '../../options/scheduling-options.js';
import type { SchedulingRequest } from '../../platform/scheduling.js';
import type { ResourceLimits } from '../../transport/caller/thread.js';
import { arenaFromOption } from '../arena-option.js';
import {
  checkProcessArena,
  dedicatedWorkerSettings,
  type DedicatedWorkerOptions,
} from '../dedicated-worker-options.js';
import type { TaskOptions } from './task.js';

/**
 * Options of `new Pool()`; every key optional. `priority` (`'realtime'`, `'normal'` or
 * `'background'`), `rtPriority`, `cpus` and `priorityFallback` apply to every pool thread (a
 * child's main thread with `kind: 'process'`) before it loads any module (docs/realtime.md,
 * "Scheduling"); not to be confused with `run`'s numeric `priority`, which orders the queue.
 */
export interface PoolOptions extends SchedulingOptions {
  /**
   * Threads started at construction and kept while idle. Default 1 (never more than maxThreads).
   * An integer from 0 to maxThreads.
   */
  readonly minThreads?: number;
  /**
   * Most threads running at once. Default `os.availableParallelism()`. An integer from 1 to
   * 16 per CPU (at least 64): more threads than that only exhaust memory.
   */
  readonly maxThreads?: number;
  /**
   * How long a thread above minThreads may stay idle before it ends. Default 10 000 ms;
   * `Infinity` keeps idle threads (they never keep the process alive either way).
   */
  readonly idleTimeoutMs?: number;
  /**
   * Most tasks waiting for a thread; one more rejects with ERR_QUEUE_FULL. Default Infinity.
   * Tasks waiting only for a thread the pool is still starting do not count.
   */
  readonly maxQueue?: number;
  /**
   * What each worker is: a worker thread (default) or a child process (`'process'`: a crash, a
   * `process.abort()` or an exhausted heap ends that child only; calls cost more, see
   * docs/pool.md). Every other option and behaviour is the same for both.
   */
  readonly kind?: 'thread' | 'process';
  /**
   * V8 heap and stack limits of each worker, each > 0 MB. Threads: worker_threads
   * `resourceLimits`; processes: only `maxOldGenerationSizeMb` applies, as `--max-old-space-size`.
   */
  readonly resourceLimits?: ResourceLimits;
  /** Environment of each worker, values strings. Default: a copy of `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Node flags of each worker. Default: the calling process's `execArgv`. */
  readonly execArgv?: readonly string[];
  /**
   * Carry binary leaves of at least `arena.minBytes` through shared memory, both ways: an
   * `Arena` (shared with other pools and remotes) or options for one the pool owns and closes.
   * With `kind: 'process'` binaries cross to the children by copy over IPC instead.
   */
  readonly arena?: Arena | ArenaOptions;
}

/** Options of one `run`. */
export interface RunOptions {
  /** Aborting removes a queued task, or ends the thread running it (a new one replaces it). */
  readonly signal?: AbortSignal;
  /**
   * Longest run time, counted from when the task starts; then ERR_TIMEOUT and the thread ends.
   * Any number >= 0, however large; `Infinity` (like leaving it out) is no timeout.
   */
  readonly timeoutMs?: number;
  /** Higher runs first; equal priorities run in submission order. Default 0. */
  readonly priority?: number;
}

/** Options of `close`. */
export interface PoolCloseOptions {
  /** Reject queued and running tasks with ERR_CLOSED and end the threads now. Default false. */
  readonly force?: boolean;
}

/** What `pool.stats()` reports: a snapshot, stale as soon as read. */
export interface PoolStats {
  /** Threads alive (starting, idle or busy). */
  readonly threads: number;
  /** Threads running at least one task. */
  readonly busy: number;
  /** Tasks waiting for a thread. */
  readonly queued: number;
  /** Tasks that returned a value. */
  readonly completed: number;
  /** Tasks that failed: threw, timed out, were aborted, or lost their thread. */
  readonly failed: number;
  /** Time inside the task's function, as the worker measured it. */
  readonly runTimeMs: PercentileSummary;
  /** Everything else between `run` and its answer: queueing and transport. */
  readonly waitTimeMs: PercentileSummary;
}

export interface PoolSettings {
  readonly kind: 'thread' | 'process';
  readonly minThreads: number;
  readonly maxThreads: number;
  /** Infinity: idle threads above minThreads are kept (they still never keep the process alive). */
  readonly idleTimeoutMs: number;
  readonly maxQueue: number;
  /** Threads only: a child's heap limit is already a flag in `execArgv`. */
  readonly resourceLimits: ResourceLimits | undefined;
  readonly env: Readonly<Record<string, string | undefined>> | undefined;
  readonly execArgv: readonly string[] | undefined;
  readonly arena: Arena | undefined;
  /** True when the pool made the arena and closes it (arena-option.ts). */
  readonly ownsArena: boolean;
  /** What every worker applies to its thread at boot; undefined when nothing was asked. */
  readonly scheduling: SchedulingRequest | undefined;
}

// Every key of each options object, once: an unknown key (`maxThread`, `timeout`) is refused
// with the closest valid one named, instead of silently running with the default.
const kPoolKeys: OptionKeys<PoolOptions> = {
  minThreads: true,
  maxThreads: true,
  idleTimeoutMs: true,
  maxQueue: true,
  kind: true,
  resourceLimits: true,
  env: true,
  execArgv: true,
  arena: true,
  ...kSchedulingKeys,
};
const kRunKeys: OptionKeys<RunOptions> = { signal: true, timeoutMs: true, priority: true };
const kCloseKeys: OptionKeys<PoolCloseOptions> = { force: true };

/** Validates every option before anything is started; throws ERR_INVALID_ARGUMENT. */
export function poolSettings(options: PoolOptions | undefined): PoolSettings {
  checkOptions<PoolOptions>('options', options, kPoolKeys);
  const { maxThreads, minThreads } = threadCounts(options?.maxThreads, options?.minThreads);
  const idleTimeoutMs = checkTimeoutMs('idleTimeoutMs', options?.idleTimeoutMs) ?? 10_000;
  // `=== undefined`, not `??`: null is a bad value, not a missing one.
  const maxQueue = options?.maxQueue === undefined ? Infinity : options.maxQueue;
  if (maxQueue !== Infinity) checkInteger('maxQueue', maxQueue, 0);
  const { kind, resourceLimits, env, execArgv, scheduling } = dedicatedWorkerSettings(
    workerOptions(options),
  );
  checkProcessArena(kind, options?.arena);
  // Last: an arena built from options is the one thing here that allocates.
  const { arena, owned } = arenaFromOption(options?.arena);
  return {
    kind,
    minThreads,
    maxThreads,
    idleTimeoutMs,
    maxQueue,
    resourceLimits,
    env,
    execArgv,
    arena,
    ownsArena: owned,
    scheduling,
  };
}

/**
 * The options that say what a worker is. spawn's checks run on them, so that both accept the
 * same values, and a child's heap limit becomes the same `--max-old-space-size` flag in
 * `execArgv`. The arena is not among them: the pool handles it (pool-worker.ts).
 */
function workerOptions(options: PoolOptions | undefined): DedicatedWorkerOptions {
  const { kind, resourceLimits, env, execArgv } = options ?? {};
  return {
    ...pickSchedulingOptions(options ?? {}),
    ...(kind === undefined ? {} : { kind }),
    ...(resourceLimits === undefined ? {} : { resourceLimits }),
    ...(env === undefined ? {} : { env }),
    ...(execArgv === undefined ? {} : { execArgv }),
  };
}

/** maxThreads (default: one per CPU) and minThreads (default 1), both bounded by kMaxThreads. */
function threadCounts(
  maxOption: unknown,
  minOption: unknown,
): { maxThreads: number; minThreads: number } {
  const maxThreads =
    maxOption === undefined ? availableParallelism() : checkThreadCount('maxThreads', maxOption, 1);
  const minThreads =
    minOption === undefined
      ? Math.min(1, maxThreads)
      : checkThreadCount('minThreads', minOption, 0);
  if (minThreads > maxThreads) {
    throw invalidArgument('minThreads', `at most maxThreads (${maxThreads})`, minThreads);
  }
  return { maxThreads, minThreads };
}

/** The options of one `run`, checked; a timeout of Infinity is no timeout at all. */
export function taskOptions(options: unknown): TaskOptions {
  if (options === undefined) return { signal: undefined, timeoutMs: undefined, priority: 0 };
  checkOptions<RunOptions>('options', options, kRunKeys);
  const signal = checkSignal('signal', options.signal);
  const timeoutMs = checkTimeoutMs('timeoutMs', options.timeoutMs);
  const priority = options.priority === undefined ? 0 : options.priority;
  if (typeof priority !== 'number' || !Number.isFinite(priority)) {
    throw invalidArgument('priority', 'a finite number', priority);
  }
  // Infinity arms no timer, so the task need not have a thread to itself either.
  return { signal, timeoutMs: timeoutMs === Infinity ? undefined : timeoutMs, priority };
}

/** `close()` options: true for a forced close. */
export function closeIsForced(options: unknown): boolean {
  checkOptions<PoolCloseOptions>('options', options, kCloseKeys);
  return checkBoolean('force', options?.force) === true;
}

/**
 * Kept for the callers outside the pool that still import them from here; new code imports
 * them from options/checks.ts.
 */
export { checkInteger, checkNonNegative };
