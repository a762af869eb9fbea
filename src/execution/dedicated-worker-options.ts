/**
 * The options every dedicated worker takes, whatever runs in it (a `spawn`ed object, an
 * `iterateInWorker` generator): where it lives, how it is stopped, its heap, environment, flags
 * and arena. One validation, one shape, so that both APIs accept exactly the same values.
 */
import { invalidArgument } from '../errors.js';
import { Arena, type ArenaOptions } from '../memory/arena/index.js';
import { validateArenaOptions } from '../memory/arena/index.js';
import { checkEnv, checkExecArgv, checkSignal } from '../options/checks.js';
import type { OptionKeys } from '../options/known-keys.js';
import { checkResourceLimits } from '../options/resource-limits.js';
import type { ResourceLimits } from '../transport/caller/thread.js';
import { requireNative } from '../platform/native.js';
import { arenaFromOption } from './arena-option.js';
import { inheritableExecArgv } from '../options/worker-exec-argv.js';
import {
  kSchedulingKeys,
  schedulingRequest,
  type SchedulingOptions,
} from '../options/scheduling-options.js';
import type { SchedulingRequest } from '../platform/scheduling.js';

/**
 * `priority`, `rtPriority`, `cpus` and `priorityFallback` (SchedulingOptions) give the worker's
 * thread, or a child process's main thread, a scheduling class and CPUs before user code runs.
 */
export interface DedicatedWorkerOptions extends SchedulingOptions {
  /** A dedicated worker thread (default) or a child process. */
  readonly kind?: 'thread' | 'process';
  readonly signal?: AbortSignal;
  /**
   * Heap limits, each a finite number of MB > 0 (`stackSizeMb` >= 1). Threads: worker_threads
   * `resourceLimits`; processes: only `maxOldGenerationSizeMb` applies, as `--max-old-space-size`.
   */
  readonly resourceLimits?: ResourceLimits;
  /** Environment of the thread or process (string values). Default: a copy of `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Node flags. Default: the calling process's `execArgv`. */
  readonly execArgv?: readonly string[];
  /**
   * Carry binary leaves of at least `arena.minBytes` through shared memory, both ways. A child
   * process maps it too (handed over at fork); without keel's native layer that is
   * ERR_UNSUPPORTED.
   */
  readonly arena?: Arena | ArenaOptions;
}

/**
 * The keys of DedicatedWorkerOptions. An API built on these options spreads them into its own
 * key list (`{ ...kDedicatedWorkerKeys, buffer: true, timeoutMs: true }`), so that a worker
 * option added here is known to every API at once.
 */
export const kDedicatedWorkerKeys: OptionKeys<DedicatedWorkerOptions> = {
  kind: true,
  signal: true,
  resourceLimits: true,
  env: true,
  execArgv: true,
  arena: true,
  ...kSchedulingKeys,
};

export interface DedicatedWorkerSettings {
  readonly kind: 'thread' | 'process';
  readonly signal: AbortSignal | undefined;
  readonly resourceLimits: ResourceLimits | undefined;
  readonly env: Readonly<Record<string, string | undefined>> | undefined;
  readonly execArgv: readonly string[] | undefined;
  readonly arena: Arena | undefined;
  /** The arena was built from options: the remote or stream closes it once its worker exits. */
  readonly ownsArena: boolean;
  /** What the worker applies to its thread at boot; undefined when nothing was asked. */
  readonly scheduling: SchedulingRequest | undefined;
}

/**
 * Validates the shared options. `options` must be an object whose keys the caller checked
 * (checkOptions with its own key list); every value is checked here, before anything starts.
 */
export function dedicatedWorkerSettings(options: DedicatedWorkerOptions): DedicatedWorkerSettings {
  // Only an absent kind means the default: null is as wrong as 'fiber'.
  const kind = options.kind === undefined ? 'thread' : options.kind;
  if (kind !== 'thread' && kind !== 'process')
    throw invalidArgument('kind', "'thread' or 'process'", kind);
  const signal = checkSignal('signal', options.signal);
  // Node hands these to V8 unchecked: a tiny stack crashes the parent, a string heap limit
  // becomes a flag the child refuses (issue 13).
  const resourceLimits = checkResourceLimits(options.resourceLimits);
  const env = checkEnv(options.env);
  const execArgv = checkExecArgv(options.execArgv);
  const scheduling = schedulingRequest(options);
  checkProcessArena(kind, options.arena);
  // Last: an arena built from options is the one thing here that allocates.
  const { arena, owned } = arenaFromOption(options.arena);
  return {
    kind,
    signal,
    resourceLimits,
    env,
    execArgv: processExecArgv(resourceLimits, execArgv, kind),
    arena,
    ownsArena: owned,
    scheduling,
  };
}

/**
 * An arena shared with child processes needs the native layer, which maps its memory in the
 * child: ERR_UNSUPPORTED without it. A bad `arena` option is refused as such first
 * (ERR_INVALID_ARGUMENT). Allocates nothing. For every worker kind that takes an arena (spawn,
 * iterateInWorker, Pool, DataLoader).
 */
export function checkProcessArena(kind: 'thread' | 'process', arena: unknown): void {
  if (kind !== 'process' || arena === undefined) return;
  checkArenaOption(arena);
  requireNative("an arena shared with a child process (kind: 'process')");
}

/** A bad `arena` option is refused as such (ERR_INVALID_ARGUMENT), without allocating anything. */
function checkArenaOption(option: unknown): void {
  if (option === undefined || option instanceof Arena) return;
  if (typeof option !== 'object' || option === null) {
    throw invalidArgument('arena', 'an Arena or arena options', option);
  }
  validateArenaOptions(option);
}

/** A child process has no resourceLimits option; its heap limit is a flag. */
function processExecArgv(
  resourceLimits: ResourceLimits | undefined,
  execArgv: readonly string[] | undefined,
  kind: 'thread' | 'process',
): readonly string[] | undefined {
  const heapMb = resourceLimits?.maxOldGenerationSizeMb;
  if (kind !== 'process' || heapMb === undefined) return execArgv;
  // The flag takes an integer of MB written in digits: V8 refuses `1.5` and `1e+21` ("illegal
  // value for flag"), so the child would die at boot. No machine has 2^32 MB (4 PiB).
  const flagMb = Math.min(Math.ceil(heapMb), kMaxHeapFlagMb);
  // Inherited flags are filtered as a child would inherit them (no -e, --input-type, ...).
  return [...(execArgv ?? inheritableExecArgv(process.execArgv)), `--max-old-space-size=${flagMb}`];
}

/** The largest `--max-old-space-size` keel writes: far above any machine, still plain digits. */
const kMaxHeapFlagMb = 2 ** 32;
