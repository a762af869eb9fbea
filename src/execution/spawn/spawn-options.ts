/**
 * spawn options: the public shape, defaults and validation.
 */
import { invalidArgument } from '../../errors.js';
import type { ResourceLimits } from '../../transport/thread.js';
import type { Arena, ArenaOptions } from '../../memory/arena/index.js';
import { arenaOf, checkNonNegative } from '../pool/pool-options.js';

export interface SpawnOptions {
  /** Where the object lives: a dedicated worker thread (default) or a child process. */
  readonly kind?: 'thread' | 'process';
  /** Longest run of one call, counted from when it starts; then ERR_TIMEOUT and the remote ends. */
  readonly callTimeoutMs?: number;
  /** Longest start (module load + factory); then ERR_TIMEOUT. Default: none. */
  readonly startTimeoutMs?: number;
  /** Aborts a start in progress. */
  readonly signal?: AbortSignal;
  /** Heap limits. Threads: worker_threads `resourceLimits`; processes: `--max-old-space-size`. */
  readonly resourceLimits?: ResourceLimits;
  /** Environment of the thread or process. Default: a copy of `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Node flags. Default: the calling process's `execArgv`. */
  readonly execArgv?: readonly string[];
  /**
   * Thread remotes: carry binary leaves of at least `arena.minBytes` through shared memory, both
   * ways. A child process cannot map the arena: there binaries cross by IPC copy.
   */
  readonly arena?: Arena | ArenaOptions;
}

export interface SpawnSettings {
  readonly kind: 'thread' | 'process';
  readonly callTimeoutMs: number | undefined;
  readonly startTimeoutMs: number | undefined;
  readonly signal: AbortSignal | undefined;
  readonly resourceLimits: ResourceLimits | undefined;
  readonly env: Readonly<Record<string, string | undefined>> | undefined;
  readonly execArgv: readonly string[] | undefined;
  readonly arena: Arena | undefined;
}

export function spawnSettings(options: SpawnOptions = {}): SpawnSettings {
  if (typeof options !== 'object' || options === null)
    throw invalidArgument('options', 'an object', options);
  const kind = options.kind ?? 'thread';
  if (kind !== 'thread' && kind !== 'process')
    throw invalidArgument('kind', "'thread' or 'process'", kind);
  if (options.callTimeoutMs !== undefined) checkNonNegative('callTimeoutMs', options.callTimeoutMs);
  if (options.startTimeoutMs !== undefined)
    checkNonNegative('startTimeoutMs', options.startTimeoutMs);
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    throw invalidArgument('signal', 'an AbortSignal', options.signal);
  }
  return {
    kind,
    callTimeoutMs: options.callTimeoutMs,
    startTimeoutMs: options.startTimeoutMs,
    signal: options.signal,
    resourceLimits: options.resourceLimits,
    env: options.env,
    execArgv: processExecArgv(options, kind),
    arena: kind === 'thread' ? arenaOf(options.arena) : undefined,
  };
}

/** A child process has no resourceLimits option; its heap limit is a flag. */
export function processExecArgv(
  options: Pick<SpawnOptions, 'resourceLimits' | 'execArgv'>,
  kind: 'thread' | 'process',
): readonly string[] | undefined {
  const heapMb = options.resourceLimits?.maxOldGenerationSizeMb;
  if (kind !== 'process' || heapMb === undefined) return options.execArgv;
  return [...(options.execArgv ?? process.execArgv), `--max-old-space-size=${heapMb}`];
}
