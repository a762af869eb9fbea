/**
 * iterateInWorker options: the public shape, defaults and validation.
 */
import { invalidArgument } from '../errors.js';
import type { Arena, ArenaOptions } from '../memory/arena/index.js';
import {
  dedicatedWorkerSettings,
  type DedicatedWorkerOptions,
  type DedicatedWorkerSettings,
} from '../execution/dedicated-worker-options.js';
import { checkInteger, checkNonNegative } from '../execution/pool/pool-options.js';

/** Default of `buffer`: items the worker may have sent and the consumer not yet taken. */
export const kDefaultStreamBuffer = 4;
/** How long `return()` lets the generator's `finally` run when no `timeoutMs` is given. */
export const kDefaultStopTimeoutMs = 10_000;

export interface IterateInWorkerOptions extends DedicatedWorkerOptions {
  /** Where the generator runs: a dedicated worker thread (default) or a child process. */
  readonly kind?: 'thread' | 'process';
  /**
   * Most items produced and not yet taken by the loop (default 4): the generator is paused,
   * not run ahead, while that many wait.
   */
  readonly buffer?: number;
  /**
   * Longest wait for one item, counted from the `next()` that found none waiting (the first
   * one includes the start); then `ERR_TIMEOUT` and the worker is terminated. Also how long
   * `return()` lets the generator's `finally` run before it is killed (default 10 000).
   */
  readonly timeoutMs?: number;
  /** Aborting rejects the pending (or next) `next()` with `signal.reason` and ends the worker. */
  readonly signal?: AbortSignal;
  /**
   * Threads: carry binary leaves of at least `arena.minBytes` of every item through shared
   * memory (one copy, in the worker; the loop gets views). A full arena pauses the generator.
   * A child process cannot map the arena: there binaries cross by IPC copy.
   */
  readonly arena?: Arena | ArenaOptions;
}

export interface StreamSettings extends DedicatedWorkerSettings {
  readonly buffer: number;
  readonly timeoutMs: number | undefined;
}

export function streamSettings(options: IterateInWorkerOptions = {}): StreamSettings {
  if (typeof options !== 'object' || options === null)
    throw invalidArgument('options', 'an object', options);
  const buffer = options.buffer ?? kDefaultStreamBuffer;
  checkInteger('buffer', buffer, 1);
  if (options.timeoutMs !== undefined) checkNonNegative('timeoutMs', options.timeoutMs);
  return { ...dedicatedWorkerSettings(options), buffer, timeoutMs: options.timeoutMs };
}
