/**
 * iterateInWorker options: the public shape, defaults and validation.
 */
import { invalidArgument } from '../errors.js';
import type { Arena, ArenaOptions } from '../memory/arena/index.js';
import type { ResourceLimits } from '../transport/thread.js';
import { arenaOf, checkInteger, checkNonNegative } from '../execution/pool/pool-options.js';
import { processExecArgv } from '../execution/spawn/spawn-options.js';

/** Default of `buffer`: items the worker may have sent and the consumer not yet taken. */
export const kDefaultStreamBuffer = 4;
/** How long `return()` lets the generator's `finally` run when no `timeoutMs` is given. */
export const kDefaultStopTimeoutMs = 10_000;

export interface IterateInWorkerOptions {
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
  /** Heap limits. Threads: worker_threads `resourceLimits`; processes: `--max-old-space-size`. */
  readonly resourceLimits?: ResourceLimits;
  /** Environment of the thread or process. Default: a copy of `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Node flags. Default: the calling process's `execArgv`. */
  readonly execArgv?: readonly string[];
}

export interface StreamSettings {
  readonly kind: 'thread' | 'process';
  readonly buffer: number;
  readonly timeoutMs: number | undefined;
  readonly signal: AbortSignal | undefined;
  readonly arena: Arena | undefined;
  readonly resourceLimits: ResourceLimits | undefined;
  readonly env: Readonly<Record<string, string | undefined>> | undefined;
  readonly execArgv: readonly string[] | undefined;
}

export function streamSettings(options: IterateInWorkerOptions = {}): StreamSettings {
  if (typeof options !== 'object' || options === null)
    throw invalidArgument('options', 'an object', options);
  const kind = options.kind ?? 'thread';
  if (kind !== 'thread' && kind !== 'process')
    throw invalidArgument('kind', "'thread' or 'process'", kind);
  const buffer = options.buffer ?? kDefaultStreamBuffer;
  checkInteger('buffer', buffer, 1);
  if (options.timeoutMs !== undefined) checkNonNegative('timeoutMs', options.timeoutMs);
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    throw invalidArgument('signal', 'an AbortSignal', options.signal);
  }
  if (
    options.execArgv !== undefined &&
    !(Array.isArray(options.execArgv) && options.execArgv.every((flag) => typeof flag === 'string'))
  ) {
    throw invalidArgument('execArgv', 'an array of strings', options.execArgv);
  }
  if (options.env !== undefined && (typeof options.env !== 'object' || options.env === null)) {
    throw invalidArgument('env', 'an object', options.env);
  }
  return {
    kind,
    buffer,
    timeoutMs: options.timeoutMs,
    signal: options.signal,
    arena: kind === 'thread' ? arenaOf(options.arena) : undefined,
    resourceLimits: options.resourceLimits,
    env: options.env,
    execArgv: processExecArgv(options, kind),
  };
}
