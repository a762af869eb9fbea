/**
 * DataLoader options: the public shape, defaults and validation.
 */
import { randomInt } from 'node:crypto';
import { invalidArgument } from '../../errors.js';
import { Arena, type ArenaOptions } from '../../memory/arena/index.js';
import { moduleHref, type ModuleRef } from '../../execution/module-ref.js';
import { arenaOf, checkInteger } from '../../execution/pool/pool-options.js';
import type { ChunkCollateSpec, DatasetSpec, ExportSpec } from '../../protocol/loader-messages.js';
import { defaultCollate } from './collate.js';

/** A function exported by a module that the workers import. */
export interface ModuleExport {
  readonly module: ModuleRef;
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
  | { readonly module: ModuleRef; readonly factory?: string; readonly args?: readonly unknown[] };

/**
 * How samples become a batch. `defaultCollate` (the default) runs in the workers, per chunk; a
 * `{ module, export }` runs in the workers the same way; a function runs on the calling thread
 * over all the samples of a batch (it cannot cross to a worker).
 */
export type CollateOption<B> = ModuleExport | ((samples: unknown[]) => B | PromiseLike<B>);

export interface DataLoaderOptions<B = unknown> {
  /** The dataset every worker loads once. See `DatasetOption`. */
  readonly dataset: DatasetOption;
  /** Samples per batch (the last batch may be smaller unless `dropLast`). */
  readonly batchSize: number;
  /** Worker threads that load samples. Default 1. */
  readonly numWorkers?: number;
  /** Indices loaded by one call in one worker. Default `ceil(batchSize / numWorkers)`. */
  readonly chunkSize?: number;
  /** Visit the dataset in a seeded random order, different each epoch. Default false. */
  readonly shuffle?: boolean;
  /** Seed of the shuffle: the same seed gives the same batches. Default: random per loader. */
  readonly seed?: number;
  /** Drop the last batch when it is smaller than `batchSize`. Default false. */
  readonly dropLast?: boolean;
  /** See `CollateOption`. Default `defaultCollate`, in the workers. */
  readonly collate?: CollateOption<B>;
  /** Most batches loading or loaded and not yet taken by the loop. Default `2 * numWorkers`. */
  readonly prefetch?: number;
  /** Yield batches in order (default) or as they complete. */
  readonly ordered?: boolean;
  /** Keep the workers (and their datasets) between epochs. Default false. */
  readonly persistentWorkers?: boolean;
  /** Longest wait for one batch, counted from the `next()` that found none ready. */
  readonly timeoutMs?: number;
  /** Carry binary leaves of chunks through this shared memory (an Arena or its options). */
  readonly arena?: Arena | ArenaOptions;
  /** Called once in each worker, after the dataset is loaded: `(workerIndex, info)`. */
  readonly workerInit?: ModuleExport;
}

/** Where a batch is collated. */
export type CollateSettings =
  | { readonly where: 'worker'; readonly spec: ChunkCollateSpec }
  | { readonly where: 'caller'; readonly collate: (samples: unknown[]) => unknown };

export interface LoaderSettings {
  readonly dataset: DatasetSpec;
  readonly batchSize: number;
  readonly numWorkers: number;
  readonly chunkSize: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  readonly collate: CollateSettings;
  readonly prefetch: number;
  readonly ordered: boolean;
  readonly persistentWorkers: boolean;
  readonly timeoutMs: number | undefined;
  readonly arena: Arena | undefined;
  /** The arena was made from options: the loader closes it. */
  readonly ownsArena: boolean;
  readonly workerInit: ExportSpec | undefined;
}

export function loaderSettings(options: DataLoaderOptions): LoaderSettings {
  if (typeof options !== 'object' || options === null)
    throw invalidArgument('options', 'an object', options);
  checkInteger('batchSize', options.batchSize, 1);
  const numWorkers = options.numWorkers ?? 1;
  checkInteger('numWorkers', numWorkers, 1);
  const chunkSize = options.chunkSize ?? Math.ceil(options.batchSize / numWorkers);
  checkRange('chunkSize', chunkSize, 1, options.batchSize);
  const prefetch = options.prefetch ?? 2 * numWorkers;
  checkInteger('prefetch', prefetch, 1);
  if (
    options.timeoutMs !== undefined &&
    !(typeof options.timeoutMs === 'number' && options.timeoutMs > 0)
  ) {
    throw invalidArgument('timeoutMs', 'a number > 0', options.timeoutMs);
  }
  return {
    dataset: datasetSpec(options.dataset),
    batchSize: options.batchSize,
    numWorkers,
    chunkSize,
    shuffle: checkBoolean('shuffle', options.shuffle, false),
    seed: seedOf(options.seed),
    dropLast: checkBoolean('dropLast', options.dropLast, false),
    collate: collateSettings(options.collate),
    prefetch,
    ordered: checkBoolean('ordered', options.ordered, true),
    persistentWorkers: checkBoolean('persistentWorkers', options.persistentWorkers, false),
    timeoutMs: options.timeoutMs,
    arena: arenaOf(options.arena),
    ownsArena: options.arena !== undefined && !(options.arena instanceof Arena),
    workerInit:
      options.workerInit === undefined ? undefined : exportSpec('workerInit', options.workerInit),
  };
}

function datasetSpec(option: DatasetOption | undefined): DatasetSpec {
  if (typeof option === 'string' || option instanceof URL) {
    return { module: moduleHref(option, 'dataset'), factory: undefined, args: [] };
  }
  if (typeof option !== 'object' || option === null) {
    throw invalidArgument('dataset', 'a module reference or { module, factory?, args? }', option);
  }
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
  if (typeof option !== 'object' || option === null) {
    throw invalidArgument(name, '{ module, export }', option);
  }
  if (typeof option.export !== 'string' || option.export.length === 0) {
    throw invalidArgument(`${name}.export`, 'a non-empty string', option.export);
  }
  return { module: moduleHref(option.module, `${name}.module`), name: option.export };
}

function checkRange(name: string, value: unknown, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidArgument(name, `an integer from ${min} to ${max}`, value);
  }
}

function checkBoolean(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalidArgument(name, 'a boolean', value);
  return value;
}

function seedOf(seed: unknown): number {
  if (seed === undefined) return randomInt(2 ** 47);
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0) {
    throw invalidArgument('seed', 'a non-negative safe integer', seed);
  }
  return seed;
}
