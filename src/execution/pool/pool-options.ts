/**
 * Pool options: the public shape, defaults and validation.
 */
import { availableParallelism } from 'node:os';
import { invalidArgument } from '../../errors.js';
import type { PercentileSummary } from '../../metrics/histogram.js';
import { Arena, type ArenaOptions } from '../../memory/arena/index.js';
import type { ResourceLimits } from '../../transport/thread.js';

export interface PoolOptions {
  /** Threads started at once and kept while idle. Default 1 (never more than maxThreads). */
  readonly minThreads?: number;
  /** Most threads running at once. Default `os.availableParallelism()`. */
  readonly maxThreads?: number;
  /** How long a thread above minThreads may stay idle before it ends. Default 10 000 ms. */
  readonly idleTimeoutMs?: number;
  /** Most tasks waiting for a thread; one more rejects with ERR_QUEUE_FULL. Default Infinity. */
  readonly maxQueue?: number;
  /** V8 heap limits of each thread (worker_threads `resourceLimits`). */
  readonly resourceLimits?: ResourceLimits;
  /** Environment of each thread. Default: a copy of `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Node flags of each thread. Default: the calling process's `execArgv`. */
  readonly execArgv?: readonly string[];
  /**
   * Carry binary leaves of at least `arena.minBytes` through shared memory, both ways: an
   * `Arena` (shared with other pools and remotes) or options for one the pool owns and closes.
   */
  readonly arena?: Arena | ArenaOptions;
}

/** Options of one `run`. */
export interface RunOptions {
  /** Aborting removes a queued task, or ends the thread running it (a new one replaces it). */
  readonly signal?: AbortSignal;
  /** Longest run time, counted from when the task starts; then ERR_TIMEOUT and the thread ends. */
  readonly timeoutMs?: number;
  /** Higher runs first; equal priorities run in submission order. Default 0. */
  readonly priority?: number;
}

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
  readonly minThreads: number;
  readonly maxThreads: number;
  readonly idleTimeoutMs: number;
  readonly maxQueue: number;
  readonly resourceLimits: ResourceLimits | undefined;
  readonly env: Readonly<Record<string, string | undefined>> | undefined;
  readonly execArgv: readonly string[] | undefined;
  readonly arena: Arena | undefined;
  /** True when the pool made the arena and closes it. */
  readonly ownsArena: boolean;
}

export function poolSettings(options: PoolOptions = {}): PoolSettings {
  if (typeof options !== 'object' || options === null)
    throw invalidArgument('options', 'an object', options);
  const maxThreads = options.maxThreads ?? availableParallelism();
  checkInteger('maxThreads', maxThreads, 1);
  const minThreads = options.minThreads ?? Math.min(1, maxThreads);
  checkInteger('minThreads', minThreads, 0);
  if (minThreads > maxThreads) {
    throw invalidArgument('minThreads', `at most maxThreads (${maxThreads})`, minThreads);
  }
  const idleTimeoutMs = options.idleTimeoutMs ?? 10_000;
  checkNonNegative('idleTimeoutMs', idleTimeoutMs);
  const maxQueue = options.maxQueue ?? Infinity;
  if (maxQueue !== Infinity) checkInteger('maxQueue', maxQueue, 0);
  if (options.execArgv !== undefined && !isStringArray(options.execArgv)) {
    throw invalidArgument('execArgv', 'an array of strings', options.execArgv);
  }
  if (options.env !== undefined && (typeof options.env !== 'object' || options.env === null)) {
    throw invalidArgument('env', 'an object', options.env);
  }
  const ownsArena = options.arena !== undefined && !(options.arena instanceof Arena);
  return {
    minThreads,
    maxThreads,
    idleTimeoutMs,
    maxQueue,
    resourceLimits: options.resourceLimits,
    env: options.env,
    execArgv: options.execArgv,
    arena: arenaOf(options.arena),
    ownsArena,
  };
}

export function checkInteger(name: string, value: unknown, min: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw invalidArgument(name, min === 1 ? 'a positive integer' : `an integer >= ${min}`, value);
  }
}

export function checkNonNegative(name: string, value: unknown): void {
  if (typeof value !== 'number' || !(value >= 0)) {
    throw invalidArgument(name, 'a number >= 0', value);
  }
}

function isStringArray(value: unknown): value is readonly string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

/** The arena an option names: the given one, or a new one built from options. */
export function arenaOf(option: Arena | ArenaOptions | undefined): Arena | undefined {
  if (option === undefined || option instanceof Arena) return option;
  if (typeof option !== 'object' || option === null) {
    throw invalidArgument('arena', 'an Arena or arena options', option);
  }
  return new Arena(option);
}
