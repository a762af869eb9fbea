/**
 * The options every dedicated worker takes, whatever runs in it (a `spawn`ed object, an
 * `iterateInWorker` generator): where it lives, how it is stopped, its heap, environment, flags
 * and arena. One validation, one shape, so that both APIs accept exactly the same values.
 */
import { invalidArgument } from '../errors.js';
import type { Arena, ArenaOptions } from '../memory/arena/index.js';
import type { ResourceLimits } from '../transport/thread.js';
import { arenaOf } from './pool/pool-options.js';

export interface DedicatedWorkerOptions {
  /** A dedicated worker thread (default) or a child process. */
  readonly kind?: 'thread' | 'process';
  readonly signal?: AbortSignal;
  /** Heap limits. Threads: worker_threads `resourceLimits`; processes: `--max-old-space-size`. */
  readonly resourceLimits?: ResourceLimits;
  /** Environment of the thread or process. Default: a copy of `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Node flags. Default: the calling process's `execArgv`. */
  readonly execArgv?: readonly string[];
  /** Threads only: a child process cannot map the arena, binaries cross there by IPC copy. */
  readonly arena?: Arena | ArenaOptions;
}

export interface DedicatedWorkerSettings {
  readonly kind: 'thread' | 'process';
  readonly signal: AbortSignal | undefined;
  readonly resourceLimits: ResourceLimits | undefined;
  readonly env: Readonly<Record<string, string | undefined>> | undefined;
  readonly execArgv: readonly string[] | undefined;
  readonly arena: Arena | undefined;
}

/** Validates the shared options (`options` must be an object: the caller checked). */
export function dedicatedWorkerSettings(options: DedicatedWorkerOptions): DedicatedWorkerSettings {
  const kind = options.kind ?? 'thread';
  if (kind !== 'thread' && kind !== 'process')
    throw invalidArgument('kind', "'thread' or 'process'", kind);
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
    signal: options.signal,
    resourceLimits: options.resourceLimits,
    env: options.env,
    execArgv: processExecArgv(options, kind),
    arena: kind === 'thread' ? arenaOf(options.arena) : undefined,
  };
}

/** A child process has no resourceLimits option; its heap limit is a flag. */
function processExecArgv(
  options: Pick<DedicatedWorkerOptions, 'resourceLimits' | 'execArgv'>,
  kind: 'thread' | 'process',
): readonly string[] | undefined {
  const heapMb = options.resourceLimits?.maxOldGenerationSizeMb;
  if (kind !== 'process' || heapMb === undefined) return options.execArgv;
  return [...(options.execArgv ?? process.execArgv), `--max-old-space-size=${heapMb}`];
}
