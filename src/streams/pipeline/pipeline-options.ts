/**
 * Pipeline options: the public shapes of `pipe`, `aggregate`, `disaggregate` and `build`,
 * their defaults and validation.
 */
import { invalidArgument } from '../../errors.js';
import { Arena, type ArenaOptions } from '../../memory/arena/index.js';
import { validateArenaOptions } from '../../memory/arena/index.js';
import { checkBoolean, checkFunction, checkInteger, checkSignal } from '../../options/checks.js';
import { checkOptions, type OptionKeys } from '../../options/known-keys.js';
import type { PipelineStageStats } from './stage-stats.js';
import { checkProgressOptions, type ProgressOptions } from './progress-view.js';

/** Default of `buffer`: items that may wait between two stages (SPDL's queue size). */
export const kDefaultPipelineBuffer = 2;
/** Default of `statsIntervalMs` when `onStats` is given. */
export const kDefaultStatsIntervalMs = 1000;

/** Options of `.pipe()`. */
export interface PipeOptions {
  /** Most items this stage works on at once (a positive integer). Default 1. */
  readonly concurrency?: number;
  /** The stage's name in `stats()` and the progress view. Default: the function's name or the task's export name. */
  readonly name?: string;
}

/** Options of `.aggregate()`. */
export interface AggregateOptions {
  /** Drop the last batch when the source ends with fewer than `size` items left. Default false. */
  readonly dropLast?: boolean;
  /** The stage's name. Default `aggregate(<size>)`. */
  readonly name?: string;
}

/** Options of `.disaggregate()`. */
export interface DisaggregateOptions {
  /** The stage's name. Default `disaggregate`. */
  readonly name?: string;
}

/** Options of `.build()`. */
export interface PipelineBuildOptions {
  /** Emit in source order whatever the concurrency (true, the default), or as items complete. */
  readonly ordered?: boolean;
  /** Items that may wait between two stages, and before the consumer (a positive integer). Default 2. */
  readonly buffer?: number;
  /**
   * Failed items tolerated (dropped, counted in `stats()`) before the pipeline stops with the
   * first error: one more failure stops it. An integer >= 0 or Infinity. Default 0.
   */
  readonly maxFailures?: number;
  /** Called with `stats()` every `statsIntervalMs` while the pipeline runs, and once at its end. */
  readonly onStats?: (stats: PipelineStageStats[]) => void;
  /** Period of `onStats` in ms (a number > 0; Infinity: only the final call). Default 1000. */
  readonly statsIntervalMs?: number;
  /** Aborting ends the iteration: the pending (or next) `next()` rejects with `signal.reason`. */
  readonly signal?: AbortSignal;
  /** Show the live progress view (see `progress()`): true, or its options. Default false. */
  readonly progress?: boolean | ProgressOptions;
  /**
   * For the pool the pipeline makes for `task` stages given no pool: carry binary leaves of at
   * least `arena.minBytes` through shared memory (an `Arena`, or options for one the pool owns).
   */
  readonly arena?: Arena | ArenaOptions;
}

// Every key of each options interface: any other key is a typo, refused with a suggestion.
export const kPipeOptionKeys: OptionKeys<PipeOptions> = { concurrency: true, name: true };
export const kAggregateOptionKeys: OptionKeys<AggregateOptions> = { dropLast: true, name: true };
export const kDisaggregateOptionKeys: OptionKeys<DisaggregateOptions> = { name: true };
const kBuildOptionKeys: OptionKeys<PipelineBuildOptions> = {
  ordered: true,
  buffer: true,
  maxFailures: true,
  onStats: true,
  statsIntervalMs: true,
  signal: true,
  progress: true,
  arena: true,
};

export interface PipelineSettings {
  readonly ordered: boolean;
  readonly buffer: number;
  readonly maxFailures: number;
  readonly onStats: ((stats: PipelineStageStats[]) => void) | undefined;
  readonly statsIntervalMs: number;
  readonly signal: AbortSignal | undefined;
  readonly progress: ProgressOptions | undefined;
  readonly arena: Arena | ArenaOptions | undefined;
}

/** Validates every build option before anything runs; throws ERR_INVALID_ARGUMENT. */
export function pipelineSettings(options: unknown = {}): PipelineSettings {
  checkOptions<PipelineBuildOptions>('options', options, kBuildOptionKeys);
  const given: PipelineBuildOptions = options ?? {};
  const { buffer = kDefaultPipelineBuffer, maxFailures = 0 } = given;
  checkInteger('buffer', buffer, 1);
  if (maxFailures !== Infinity) checkInteger('maxFailures', maxFailures, 0);
  const { onStats, statsIntervalMs = kDefaultStatsIntervalMs, arena } = given;
  checkFunction('onStats', onStats);
  if (typeof statsIntervalMs !== 'number' || !(statsIntervalMs > 0)) {
    throw invalidArgument(
      'statsIntervalMs',
      'a number of milliseconds > 0 (Infinity: only the final call)',
      statsIntervalMs,
    );
  }
  if (arena !== undefined && !(arena instanceof Arena)) {
    // Checked now, though the arena is only made with the pipeline's own pool, at the start.
    checkObject('arena', arena);
    validateArenaOptions(arena);
  }
  return {
    ordered: checkBoolean('ordered', given.ordered) ?? true,
    buffer,
    maxFailures,
    onStats,
    statsIntervalMs,
    signal: checkSignal('signal', given.signal),
    progress: progressSetting(given.progress),
    arena,
  };
}

/** `progress`: a boolean, or the view's options (`{}` is the view with its defaults). */
function progressSetting(option: unknown): ProgressOptions | undefined {
  if (option === undefined || option === false) return undefined;
  if (option === true) return {};
  if (typeof option !== 'object' || option === null || Array.isArray(option)) {
    throw invalidArgument('progress', 'true, false or { stream?, intervalMs? }', option);
  }
  return checkProgressOptions(option);
}

export function checkObject(name: string, value: unknown): void {
  if (typeof value !== 'object' || value === null) {
    throw invalidArgument(name, 'an object', value);
  }
}

/** A stage name given by the user: a non-empty string, or absent. */
export function checkName(name: unknown): string | undefined {
  if (name === undefined) return undefined;
  if (typeof name !== 'string' || name.length === 0) {
    throw invalidArgument('name', 'a non-empty string', name);
  }
  return name;
}
