/**
 * DataLoader options: the public shape, defaults and validation.
 */
import { invalidArgument } from '../../errors.js';
import type { Arena, ArenaOptions } from '../../memory/arena/index.js';
import { moduleHref, type ModuleRef } from '../../execution/module-ref.js';
import { arenaFromOption } from '../../execution/arena-option.js';
import { checkProcessArena } from '../../execution/dedicated-worker-options.js';
import {
  checkBoolean,
  checkInteger,
  checkThreadCount,
  checkTimeoutMs,
} from '../../options/checks.js';
import { checkOptions, type OptionKeys } from '../../options/known-keys.js';
import {
  kSchedulingKeys,
  pickSchedulingOptions,
  schedulingRequest,
  type SchedulingOptions,
} from '../../options/scheduling-options.js';
import type { ChunkCollateSpec, DatasetSpec, ExportSpec } from '../../protocol/loader-messages.js';
import { defaultCollate } from '../../tensors/collate.js';

/** A function exported by a module that the workers import. */
export interface ModuleExport {
  /** The module the workers import. */
  readonly module: ModuleRef;
  /** The name of the function it exports. */
  readonly export: string;
}

/**
 * The dataset: a module whose exports are `length` (a number, or a function returning one) and
 * `getItem(index)` (sync or async), or `{ module, factory, args }` whose export `factory` is
 * called once per worker with `args` and returns (or resolves to) an object with `length` and
 * `getItem`.
 */
export type DatasetOption =
  | ModuleRef
  | {
      /** The module the workers import. */
      readonly module: ModuleRef;
      /** The export called once per worker to make the dataset; without it, the module is it. */
      readonly factory?: string;
      /** The factory's arguments, cloned once per worker. */
      readonly args?: readonly unknown[];
    };

/**
 * How samples become a batch. `defaultCollate` (the default) runs in the workers, per chunk; a
 * `{ module, export }` runs in the workers the same way; a function runs on the calling thread
 * over all the samples of a batch (it cannot cross to a worker).
 */
export type CollateOption<B> = ModuleExport | ((samples: unknown[]) => B | PromiseLike<B>);

/**
 * Options of `new DataLoader()`. `priority`, `rtPriority`, `cpus` and `priorityFallback` give
 * every worker's thread (a child's main thread with `kind: 'process'`) a scheduling class and
 * CPUs before the dataset loads (docs/realtime.md, "Scheduling"): `priority: 'background'`
 * keeps loading off a control loop's CPU time.
 */
export interface DataLoaderOptions<B = unknown> extends SchedulingOptions {
  /** The dataset every worker loads once. See `DatasetOption`. */
  readonly dataset: DatasetOption;
  /** Samples per batch (the last batch may be smaller unless `dropLast`). */
  readonly batchSize: number;
  /** Workers that load samples. Default 1; at most 16 per CPU (at least 64). */
  readonly numWorkers?: number;
  /**
   * What each worker is: a worker thread (default) or a child process (`'process'`: a crash or
   * an exhausted heap in a dataset ends the epoch, not the program). The same seed gives the
   * same batches either way.
   */
  readonly kind?: 'thread' | 'process';
  /** Indices loaded by one call in one worker. Default `ceil(batchSize / numWorkers)`. */
  readonly chunkSize?: number;
  /** Visit the dataset in a seeded random order, different each epoch. Default false. */
  readonly shuffle?: boolean;
  /**
   * Seed of the shuffle: the same seed gives the same batches. Default: random per loader, or 0
   * when `worldSize` is given (every rank must shuffle alike).
   */
  readonly seed?: number;
  /**
   * Drop the last batch when it is smaller than `batchSize`. Default false. With `worldSize`,
   * also cuts the dataset's tail that does not divide among the ranks instead of padding it.
   */
  readonly dropLast?: boolean;
  /**
   * This process's shard of the dataset, 0 to `worldSize - 1` (PyTorch's DistributedSampler
   * rule: each rank visits positions rank, rank + worldSize, ... of the epoch's order).
   * Default 0.
   */
  readonly rank?: number;
  /**
   * Processes (usually on different machines) that split the dataset: each loads a disjoint
   * shard of equal length, padded by repeating items unless `dropLast`. Default 1.
   */
  readonly worldSize?: number;
  /** See `CollateOption`. Default `defaultCollate`, in the workers. */
  readonly collate?: CollateOption<B>;
  /** Most batches loading or loaded and not yet taken by the loop. Default `2 * numWorkers`. */
  readonly prefetch?: number;
  /** Yield batches in order (default) or as they complete. */
  readonly ordered?: boolean;
  /** Keep the workers (and their datasets) between epochs. Default false. */
  readonly persistentWorkers?: boolean;
  /**
   * Longest wait for one batch, counted from the `next()` that found none ready. Default and
   * `Infinity`: none. Any finite value is honoured, however large.
   */
  readonly timeoutMs?: number;
  /**
   * Carry binary leaves of chunks through this shared memory (an Arena or its options), and
   * join batches into it. With `kind: 'process'` chunks cross by copy over IPC; batches are
   * still joined into the arena.
   */
  readonly arena?: Arena | ArenaOptions;
  /** Called once in each worker, after the dataset is loaded: `(workerIndex, info)`. */
  readonly workerInit?: ModuleExport;
}

/** Every key of DataLoaderOptions: any other key is a typo, refused with a suggestion. */
const kLoaderOptionKeys: OptionKeys<DataLoaderOptions> = {
  dataset: true,
  batchSize: true,
  numWorkers: true,
  kind: true,
  chunkSize: true,
  shuffle: true,
  seed: true,
  dropLast: true,
  rank: true,
  worldSize: true,
  collate: true,
  prefetch: true,
  ordered: true,
  persistentWorkers: true,
  timeoutMs: true,
  arena: true,
  workerInit: true,
  ...kSchedulingKeys,
};

type DatasetObject = Exclude<DatasetOption, ModuleRef>;
const kDatasetKeys: OptionKeys<DatasetObject> = { module: true, factory: true, args: true };
const kExportKeys: OptionKeys<ModuleExport> = { module: true, export: true };

/** Where a batch is collated. */
export type CollateSettings =
  | { readonly where: 'worker'; readonly spec: ChunkCollateSpec }
  | { readonly where: 'caller'; readonly collate: (samples: unknown[]) => unknown };

export interface LoaderSettings {
  readonly dataset: DatasetSpec;
  readonly batchSize: number;
  readonly numWorkers: number;
  readonly kind: 'thread' | 'process';
  readonly chunkSize: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  readonly rank: number;
  readonly worldSize: number;
  readonly collate: CollateSettings;
  readonly prefetch: number;
  readonly ordered: boolean;
  readonly persistentWorkers: boolean;
  readonly timeoutMs: number | undefined;
  readonly arena: Arena | undefined;
  /** The arena was made from options: the loader closes it. */
  readonly ownsArena: boolean;
  readonly workerInit: ExportSpec | undefined;
  /** The scheduling options, checked, handed to every worker's spawn. */
  readonly scheduling: SchedulingOptions;
}

/** Validates every option before anything starts; throws ERR_INVALID_ARGUMENT. */
export function loaderSettings(options: unknown): LoaderSettings {
  checkOptions<DataLoaderOptions>('options', options, kLoaderOptionKeys);
  if (options === undefined) throw invalidArgument('options', 'an object', options);
  const batchSize = checkInteger('batchSize', options.batchSize, 1);
  // Bounded: each worker is a thread started up front; 1e9 of them froze the process.
  // `=== undefined`, not `??`, for every default: null is a value given, and refused.
  const numWorkers = checkThreadCount('numWorkers', defaulted(options.numWorkers, 1), 1);
  const chunkSize = defaulted(options.chunkSize, Math.ceil(batchSize / numWorkers));
  checkRange('chunkSize', chunkSize, 1, batchSize);
  const settings = {
    dataset: datasetSpec(options.dataset),
    batchSize,
    numWorkers,
    kind: kindOf(options.kind),
    chunkSize,
    shuffle: checkBoolean('shuffle', options.shuffle) ?? false,
    seed: seedOf(options.seed, options.worldSize !== undefined),
    dropLast: checkBoolean('dropLast', options.dropLast) ?? false,
    ...shardOptions(options.rank, options.worldSize),
    collate: collateSettings(options.collate),
    // Needs no bound: chunks are sent only as workers have room, whatever the prefetch.
    prefetch: checkInteger('prefetch', defaulted(options.prefetch, 2 * numWorkers), 1),
    ordered: checkBoolean('ordered', options.ordered) ?? true,
    persistentWorkers: checkBoolean('persistentWorkers', options.persistentWorkers) ?? false,
    timeoutMs: checkTimeoutMs('timeoutMs', options.timeoutMs),
    workerInit:
      options.workerInit === undefined ? undefined : exportSpec('workerInit', options.workerInit),
  };
  // Checked here (ERR_INVALID_ARGUMENT, ERR_UNSUPPORTED without the native layer), applied by
  // each worker's spawn.
  schedulingRequest(options);
  const scheduling = pickSchedulingOptions(options);
  checkProcessArena(settings.kind, options.arena);
  // Last: an arena made from options allocates its memory, so everything else is checked first.
  const { arena, owned } = arenaFromOption(options.arena);
  return { ...settings, arena, ownsArena: owned, scheduling };
}

function datasetSpec(option: DatasetOption | undefined): DatasetSpec {
  if (typeof option === 'string' || option instanceof URL) {
    return { module: moduleHref(option, 'dataset'), factory: undefined, args: [] };
  }
  if (typeof option !== 'object' || option === null || Array.isArray(option)) {
    throw invalidArgument('dataset', 'a module reference or { module, factory?, args? }', option);
  }
  checkOptions<DatasetObject>('dataset', option, kDatasetKeys);
  const { factory, args = [] } = option;
  if (factory !== undefined && (typeof factory !== 'string' || factory.length === 0)) {
    throw invalidArgument('dataset.factory', 'a non-empty string', factory);
  }
  if (!Array.isArray(args)) throw invalidArgument('dataset.args', 'an array', args);
  return { module: moduleHref(option.module, 'dataset.module'), factory, args };
}

function collateSettings(option: CollateOption<unknown> | undefined): CollateSettings {
  if (option === undefined || (option as unknown) === defaultCollate) {
    return { where: 'worker', spec: { kind: 'default' } };
  }
  if (typeof option === 'function') return { where: 'caller', collate: option };
  return {
    where: 'worker',
    spec: { kind: 'module', export: exportSpec('collate', option) },
  };
}

function exportSpec(name: string, option: ModuleExport): ExportSpec {
  if (typeof option !== 'object' || option === null || Array.isArray(option)) {
    throw invalidArgument(name, '{ module, export }', option);
  }
  checkOptions<ModuleExport>(name, option, kExportKeys);
  if (typeof option.export !== 'string' || option.export.length === 0) {
    throw invalidArgument(`${name}.export`, 'a non-empty string', option.export);
  }
  return { module: moduleHref(option.module, `${name}.module`), name: option.export };
}

/** Only an absent kind means the default: null is as wrong as 'fiber'. */
function kindOf(kind: unknown): 'thread' | 'process' {
  if (kind === undefined) return 'thread';
  if (kind !== 'thread' && kind !== 'process') {
    throw invalidArgument('kind', "'thread' or 'process'", kind);
  }
  return kind;
}

function defaulted<T>(value: T | undefined, fallback: T): T {
  return value === undefined ? fallback : value;
}

function checkRange(name: string, value: unknown, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidArgument(name, `an integer from ${min} to ${max}`, value);
  }
}

/** The shard settings; a rank without a world, or outside it, is refused. */
function shardOptions(rank: unknown, worldSize: unknown): { rank: number; worldSize: number } {
  const world = checkInteger('worldSize', defaulted(worldSize, 1), 1);
  if (rank !== undefined && worldSize === undefined) {
    throw invalidArgument('worldSize', 'a positive integer when rank is given', worldSize);
  }
  const given = checkInteger('rank', defaulted(rank, 0), 0);
  if (given >= world) {
    throw invalidArgument('rank', `an integer from 0 to worldSize - 1 (${world - 1})`, given);
  }
  return { rank: given, worldSize: world };
}

/** A distributed run defaults to seed 0, so that every rank's shuffle agrees without one. */
function seedOf(seed: unknown, distributed: boolean): number {
  // Math.random, not node:crypto: a shuffle's seed needs no secrecy, and node:crypto would
  // load into every program that imports keel.
  if (seed === undefined) return distributed ? 0 : Math.floor(Math.random() * 2 ** 47);
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0) {
    throw invalidArgument('seed', 'a non-negative safe integer', seed);
  }
  return seed;
}
