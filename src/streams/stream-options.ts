/**
 * iterateInWorker options: the public shape, defaults and validation.
 */
import type { Arena, ArenaOptions } from '../memory/arena/index.js';
import {
  dedicatedWorkerSettings,
  kDedicatedWorkerKeys,
  type DedicatedWorkerOptions,
  type DedicatedWorkerSettings,
} from '../execution/dedicated-worker-options.js';
import { checkInteger, checkTimeoutMs } from '../options/checks.js';
import { checkOptions, type OptionKeys } from '../options/known-keys.js';

/** Default of `buffer`: items the worker may have sent and the consumer not yet taken. */
export const kDefaultStreamBuffer = 4;
/**
 * The largest `buffer`: both sides count items modulo 2^32 (transport/credit-window.ts), so a
 * window must stay below 2^31 for "sent - taken < buffer" to mean what it says.
 */
export const kMaxStreamBuffer = 2 ** 31 - 1;
/** How long `return()` lets the generator's `finally` run when no `timeoutMs` is given. */
export const kDefaultStopTimeoutMs = 10_000;

/** Options of `iterateInWorker()`. */
export interface IterateInWorkerOptions extends DedicatedWorkerOptions {
  /** Where the generator runs: a dedicated worker thread (default) or a child process. */
  readonly kind?: 'thread' | 'process';
  /**
   * Most items produced and not yet taken by the loop (default 4, at most 2^31 - 1): the
   * generator is paused, not run ahead, while that many wait.
   */
  readonly buffer?: number;
  /**
   * Longest wait for one item, counted from the `next()` that found none waiting (the first
   * one includes the start); then `ERR_TIMEOUT` and the worker is terminated. Also how long
   * `return()` lets the generator's `finally` run before it is killed (default 10 000).
   * `Infinity`: no limit on either. Any finite value is honoured, however large.
   */
  readonly timeoutMs?: number;
  /** Aborting rejects the pending (or next) `next()` with `signal.reason` and ends the worker. */
  readonly signal?: AbortSignal;
  /**
   * Carry binary leaves of at least `arena.minBytes` of every item through shared memory (one
   * copy, in the worker; the loop gets views). A full arena pauses the generator. A child
   * process maps it too (needs keel's native layer, else ERR_UNSUPPORTED); without an arena,
   * a child's binaries cross by IPC copy.
   */
  readonly arena?: Arena | ArenaOptions;
}

/** Every key of IterateInWorkerOptions: any other key is a typo, refused with a suggestion. */
const kStreamOptionKeys: OptionKeys<IterateInWorkerOptions> = {
  ...kDedicatedWorkerKeys,
  buffer: true,
  timeoutMs: true,
};

export interface StreamSettings extends DedicatedWorkerSettings {
  readonly buffer: number;
  readonly timeoutMs: number | undefined;
}

/** Validates every option before anything starts; throws ERR_INVALID_ARGUMENT. */
export function streamSettings(options: unknown = {}): StreamSettings {
  checkOptions<IterateInWorkerOptions>('options', options, kStreamOptionKeys);
  const given: IterateInWorkerOptions = options ?? {};
  // `=== undefined`, not `??`: null is a value the caller gave, refused like any other.
  const buffer = checkInteger(
    'buffer',
    given.buffer === undefined ? kDefaultStreamBuffer : given.buffer,
    1,
    kMaxStreamBuffer,
  );
  const timeoutMs = checkTimeoutMs('timeoutMs', given.timeoutMs);
  return { ...dedicatedWorkerSettings(given), buffer, timeoutMs };
}
