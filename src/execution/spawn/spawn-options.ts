/**
 * spawn and close options: the public shape, defaults and validation.
 */
import type { Arena, ArenaOptions } from '../../memory/arena/index.js';
import { checkTimeoutMs } from '../../options/checks.js';
import { checkOptions, type OptionKeys } from '../../options/known-keys.js';
import {
  dedicatedWorkerSettings,
  kDedicatedWorkerKeys,
  type DedicatedWorkerOptions,
  type DedicatedWorkerSettings,
} from '../dedicated-worker-options.js';

/** Options of `spawn()`. */
export interface SpawnOptions extends DedicatedWorkerOptions {
  /** Where the object lives: a dedicated worker thread (default) or a child process. */
  readonly kind?: 'thread' | 'process';
  /**
   * Longest run of one call, counted from when it starts; then ERR_TIMEOUT and the remote ends.
   * Default and `Infinity`: none. Any finite value is honoured, however large.
   */
  readonly callTimeoutMs?: number;
  /**
   * Longest start (the thread or process boots, the module loads, the factory returns); then
   * ERR_TIMEOUT and the worker is killed. Default and `Infinity`: none.
   */
  readonly startTimeoutMs?: number;
  /** Aborts a start in progress. */
  readonly signal?: AbortSignal;
  /**
   * Carry binary leaves of at least `arena.minBytes` through shared memory, both ways, for a
   * thread and a child process alike (a child maps it: needs keel's native layer, else
   * ERR_UNSUPPORTED). Without an arena, a child's binaries cross by IPC copy.
   */
  readonly arena?: Arena | ArenaOptions;
}

/** Options of `close(remote, options)`. */
export interface RemoteCloseOptions {
  /**
   * How long pending calls and the object's dispose hook may run before the worker is killed
   * (default 10 000 ms; `Infinity`: never killed).
   */
  readonly timeoutMs?: number;
}

export interface SpawnSettings extends DedicatedWorkerSettings {
  readonly callTimeoutMs: number | undefined;
  readonly startTimeoutMs: number | undefined;
}

// Every key, once: a typo (`callTimeout`, `timeout`) is refused with the closest key named,
// instead of silently running without the limit the caller meant.
const kSpawnKeys: OptionKeys<SpawnOptions> = {
  ...kDedicatedWorkerKeys,
  callTimeoutMs: true,
  startTimeoutMs: true,
};
const kCloseKeys: OptionKeys<RemoteCloseOptions> = { timeoutMs: true };

/** Validates every spawn option before anything starts; throws ERR_INVALID_ARGUMENT. */
export function spawnSettings(options: unknown): SpawnSettings {
  checkOptions<SpawnOptions>('options', options, kSpawnKeys);
  const given: SpawnOptions = options ?? {};
  const callTimeoutMs = checkTimeoutMs('callTimeoutMs', given.callTimeoutMs);
  const startTimeoutMs = checkTimeoutMs('startTimeoutMs', given.startTimeoutMs);
  return { ...dedicatedWorkerSettings(given), callTimeoutMs, startTimeoutMs };
}

/** Validates close's options; returns its timeout (undefined: the default). */
export function closeTimeoutMs(options: unknown): number | undefined {
  checkOptions<RemoteCloseOptions>('options', options, kCloseKeys);
  return checkTimeoutMs('timeoutMs', options?.timeoutMs);
}
