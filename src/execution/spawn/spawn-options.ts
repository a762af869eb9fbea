/**
 * spawn options: the public shape, defaults and validation.
 */
import { invalidArgument } from '../../errors.js';
import type { Arena, ArenaOptions } from '../../memory/arena/index.js';
import {
  dedicatedWorkerSettings,
  type DedicatedWorkerOptions,
  type DedicatedWorkerSettings,
} from '../dedicated-worker-options.js';
import { checkNonNegative } from '../pool/pool-options.js';

export interface SpawnOptions extends DedicatedWorkerOptions {
  /** Where the object lives: a dedicated worker thread (default) or a child process. */
  readonly kind?: 'thread' | 'process';
  /** Longest run of one call, counted from when it starts; then ERR_TIMEOUT and the remote ends. */
  readonly callTimeoutMs?: number;
  /** Longest start (module load + factory); then ERR_TIMEOUT. Default: none. */
  readonly startTimeoutMs?: number;
  /** Aborts a start in progress. */
  readonly signal?: AbortSignal;
  /**
   * Thread remotes: carry binary leaves of at least `arena.minBytes` through shared memory, both
   * ways. A child process cannot map the arena: there binaries cross by IPC copy.
   */
  readonly arena?: Arena | ArenaOptions;
}

export interface SpawnSettings extends DedicatedWorkerSettings {
  readonly callTimeoutMs: number | undefined;
  readonly startTimeoutMs: number | undefined;
}

export function spawnSettings(options: SpawnOptions = {}): SpawnSettings {
  if (typeof options !== 'object' || options === null)
    throw invalidArgument('options', 'an object', options);
  if (options.callTimeoutMs !== undefined) checkNonNegative('callTimeoutMs', options.callTimeoutMs);
  if (options.startTimeoutMs !== undefined)
    checkNonNegative('startTimeoutMs', options.startTimeoutMs);
  return {
    ...dedicatedWorkerSettings(options),
    callTimeoutMs: options.callTimeoutMs,
    startTimeoutMs: options.startTimeoutMs,
  };
}
