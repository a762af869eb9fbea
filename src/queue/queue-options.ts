/**
 * keel/queue's options: the public shapes, their defaults and their checks.
 */
import { invalidArgument } from '../errors.js';
import type { PercentileSummary } from '../metrics/histogram.js';
import {
  checkBoolean,
  checkInteger,
  checkSignal,
  checkThreadCount,
  checkTimeoutMs,
} from '../options/checks.js';
import { checkOptions, type OptionKeys } from '../options/known-keys.js';
import { checkRedisUrl, type RedisAddress } from './connection.js';
import { checkRoot } from './module-path.js';
import { kDefaultMaxPayloadBytes } from './payload.js';

/** Options of `new QueuePool()`. */
export interface QueuePoolOptions {
  /**
   * The Redis server: `redis://[user:password@]host[:port][/db]`, or `rediss://` for TLS.
   * Required.
   */
  readonly connection: string | URL;
  /** The queue's name: callers and workers of one queue use the same. Required. */
  readonly queue: string;
  /**
   * The directory module references are sent relative to (a worker resolves them against its
   * own `--root`). Default: the working directory.
   */
  readonly root?: string | URL;
  /**
   * How long a run waits for Redis before it rejects with ERR_UNAVAILABLE. Default 10 000 ms;
   * `Infinity` waits for ever.
   */
  readonly connectTimeoutMs?: number;
  /**
   * The most bytes the arguments of a run (and its result) may take once serialized: larger
   * ones reject with ERR_INVALID_ARGUMENT before anything is queued. Default 64 MiB.
   */
  readonly maxPayloadBytes?: number;
  /** BullMQ's key prefix; callers and workers must agree. Default `'bull'`. */
  readonly prefix?: string;
}

/** Options of one `QueuePool.run`. */
export interface QueueRunOptions {
  /** Aborting removes a waiting job, or stops it on the worker running it. */
  readonly signal?: AbortSignal;
  /**
   * Longest time from `run` to the answer, queueing included: then ERR_TIMEOUT, and the job is
   * removed or stopped as for `signal`. The worker also ends the call itself after `timeoutMs`
   * of running. Default and `Infinity`: none.
   */
  readonly timeoutMs?: number;
  /**
   * Higher runs first; equal priorities in submission order. An integer from -1 000 000 to
   * 1 000 000. Default 0.
   */
  readonly priority?: number;
  /**
   * How many times the function may run when it throws (or times out on its worker): the error
   * of the last attempt is the answer. An integer from 1 to 100. Default 1. A worker that dies
   * mid-job is a separate matter: that job is always run again (docs/queue.md).
   */
  readonly attempts?: number;
}

/** Options of `close`. */
export interface QueueCloseOptions {
  /**
   * Reject runs in flight with ERR_CLOSED, and withdraw their jobs (removed if waiting, stopped
   * if running), instead of waiting for their answers. Default false.
   */
  readonly force?: boolean;
}

/** What `queuePool.stats()` reports: this caller's view, a snapshot. */
export interface QueuePoolStats {
  /** Runs waiting for their answer. */
  readonly pending: number;
  /** Runs that resolved. */
  readonly completed: number;
  /** Runs that rejected: the function's error, a timeout, an abort, Redis lost, closed. */
  readonly failed: number;
  /** Whether the connection to Redis is up. */
  readonly connected: boolean;
  /** From `run` to its answer, for runs that got one from a worker. */
  readonly roundTripMs: PercentileSummary;
}

export interface QueuePoolSettings {
  readonly address: RedisAddress;
  readonly queue: string;
  readonly root: string;
  readonly connectTimeoutMs: number;
  readonly maxPayloadBytes: number;
  readonly prefix: string;
}

export interface CheckedRunOptions {
  readonly signal: AbortSignal | undefined;
  /** undefined: none. */
  readonly timeoutMs: number | undefined;
  readonly priority: number;
  readonly attempts: number;
}

const kPoolKeys: OptionKeys<QueuePoolOptions> = {
  connection: true,
  queue: true,
  root: true,
  connectTimeoutMs: true,
  maxPayloadBytes: true,
  prefix: true,
};

const kRunKeys: OptionKeys<QueueRunOptions> = {
  signal: true,
  timeoutMs: true,
  priority: true,
  attempts: true,
};

const kCloseKeys: OptionKeys<QueueCloseOptions> = { force: true };

/** Default `connectTimeoutMs`. */
export const kDefaultConnectTimeoutMs = 10_000;
/** Redis strings hold at most 512 MB; base64 makes a payload 4/3 larger. */
const kMaxPayloadLimit = 256 * 1024 * 1024;
/** BullMQ's priorities run from 1 (first) to 2^21; keel's map onto the middle of that range. */
export const kMaxPriority = 1_000_000;

export function queuePoolSettings(options: unknown): QueuePoolSettings {
  if (options === undefined) throw invalidArgument('options', 'an object', options);
  checkOptions<QueuePoolOptions>('options', options, kPoolKeys);
  const connectTimeoutMs = checkTimeoutMs('connectTimeoutMs', options.connectTimeoutMs);
  const maxPayloadBytes = options.maxPayloadBytes ?? kDefaultMaxPayloadBytes;
  checkInteger('maxPayloadBytes', maxPayloadBytes, 1, kMaxPayloadLimit);
  return {
    address: checkRedisUrl('connection', options.connection),
    queue: checkQueueName('queue', options.queue),
    root: checkRoot('root', options.root),
    connectTimeoutMs: connectTimeoutMs ?? kDefaultConnectTimeoutMs,
    maxPayloadBytes,
    prefix: options.prefix === undefined ? 'bull' : checkQueueName('prefix', options.prefix),
  };
}

/** A queue name or key prefix: BullMQ builds Redis keys of it with ':' as the separator. */
export function checkQueueName(name: string, value: unknown): string {
  if (typeof value !== 'string' || !/^[\w.@-]{1,200}$/.test(value)) {
    throw invalidArgument(name, "a name of letters, digits and '_.@-' (1 to 200)", value);
  }
  return value;
}

export function runOptions(options: unknown): CheckedRunOptions {
  checkOptions<QueueRunOptions>('options', options, kRunKeys);
  const timeoutMs = checkTimeoutMs('timeoutMs', options?.timeoutMs);
  const priority = options?.priority ?? 0;
  checkInteger('priority', priority, -kMaxPriority, kMaxPriority);
  const attempts = options?.attempts ?? 1;
  checkInteger('attempts', attempts, 1, 100);
  return {
    signal: checkSignal('signal', options?.signal),
    timeoutMs: timeoutMs === Infinity ? undefined : timeoutMs,
    priority,
    attempts,
  };
}

export function closeIsForced(options: unknown): boolean {
  checkOptions<QueueCloseOptions>('options', options, kCloseKeys);
  return checkBoolean('force', options?.force) ?? false;
}

// The worker's side ----------------------------------------------------------------------------

/** Options of `serveQueue()` (and of `keel worker`, flag for flag). */
export interface ServeQueueOptions {
  /** The Redis server, as for `QueuePool`. Required. */
  readonly connection: string | URL;
  /** The queue to take jobs from. Required. */
  readonly queue: string;
  /** Threads of the local keel Pool that runs the jobs. Default `os.availableParallelism()`. */
  readonly threads?: number;
  /** Jobs taken at once; those beyond `threads` wait in the local pool. Default `threads`. */
  readonly concurrency?: number;
  /** The directory job modules are resolved against. Default: the working directory. */
  readonly root?: string | URL;
  /** How long the start waits for Redis before it rejects with ERR_UNAVAILABLE. Default 10 000 ms. */
  readonly connectTimeoutMs?: number;
  /** BullMQ's key prefix; callers and workers must agree. Default `'bull'`. */
  readonly prefix?: string;
  /**
   * How long a job's lock lasts without renewal (renewed every half of it while the job runs).
   * A worker that dies holds its jobs this long before they can run elsewhere. Default 10 000 ms.
   */
  readonly lockDurationMs?: number;
  /** How often this worker looks for jobs whose worker died. Default 5 000 ms. */
  readonly stalledIntervalMs?: number;
  /**
   * How many times a job may lose its worker (a crash, SIGKILL, a lost machine) and still be run
   * again; one more and its caller gets ERR_WORKER_EXITED. Default 5.
   */
  readonly maxStalls?: number;
  /**
   * Where errors that belong to no job go (Redis lost, a malformed job). Default: one line on
   * stderr per distinct message.
   */
  readonly onError?: (error: Error) => void;
}

export interface ServeQueueSettings {
  readonly address: RedisAddress;
  readonly queue: string;
  readonly threads: number;
  readonly concurrency: number;
  readonly root: string;
  readonly connectTimeoutMs: number;
  readonly prefix: string;
  readonly lockDurationMs: number;
  readonly stalledIntervalMs: number;
  readonly maxStalls: number;
  readonly onError: ((error: Error) => void) | undefined;
}

const kServeKeys: OptionKeys<ServeQueueOptions> = {
  connection: true,
  queue: true,
  threads: true,
  concurrency: true,
  root: true,
  connectTimeoutMs: true,
  prefix: true,
  lockDurationMs: true,
  stalledIntervalMs: true,
  maxStalls: true,
  onError: true,
};

/** A duration BullMQ keeps in a 32-bit timer: from `min` ms to a day. */
function checkIntervalMs(name: string, value: unknown, fallback: number, min: number): number {
  return checkInteger(name, value ?? fallback, min, 24 * 60 * 60 * 1000);
}

export function serveQueueSettings(options: unknown, defaultThreads: number): ServeQueueSettings {
  if (options === undefined) throw invalidArgument('options', 'an object', options);
  checkOptions<ServeQueueOptions>('options', options, kServeKeys);
  const threads = checkThreadCount('threads', options.threads ?? defaultThreads, 1);
  const connectTimeoutMs = checkTimeoutMs('connectTimeoutMs', options.connectTimeoutMs);
  if (options.onError !== undefined && typeof options.onError !== 'function') {
    throw invalidArgument('onError', 'a function', options.onError);
  }
  return {
    address: checkRedisUrl('connection', options.connection),
    queue: checkQueueName('queue', options.queue),
    threads,
    concurrency: checkInteger('concurrency', options.concurrency ?? threads, 1, 10_000),
    root: checkRoot('root', options.root),
    connectTimeoutMs: connectTimeoutMs ?? kDefaultConnectTimeoutMs,
    prefix: options.prefix === undefined ? 'bull' : checkQueueName('prefix', options.prefix),
    lockDurationMs: checkIntervalMs('lockDurationMs', options.lockDurationMs, 10_000, 100),
    stalledIntervalMs: checkIntervalMs('stalledIntervalMs', options.stalledIntervalMs, 5_000, 100),
    maxStalls: checkInteger('maxStalls', options.maxStalls ?? 5, 0, 1_000),
    onError: options.onError,
  };
}
