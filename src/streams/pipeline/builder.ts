/**
 * `pipeline()` and its builder: the public way to describe a pipeline's stages.
 */
import { invalidArgument } from '../../errors.js';
import { checkBoolean, checkInteger } from '../../options/checks.js';
import { checkOptions } from '../../options/known-keys.js';
import { Pipeline } from './built-pipeline.js';
import { PipelineRun } from './pipeline-run.js';
import {
  checkName,
  kAggregateOptionKeys,
  kDisaggregateOptionKeys,
  kPipeOptionKeys,
  pipelineSettings,
  type AggregateOptions,
  type DisaggregateOptions,
  type PipeOptions,
  type PipelineBuildOptions,
} from './pipeline-options.js';
import type { LocalStep, StageSpec } from './stage-spec.js';
import { PipelineTask } from './task.js';

/** The element type `disaggregate()` yields for items of type T. */
export type ElementOf<T> = T extends Iterable<infer E> ? E : unknown;

type Source = Iterable<unknown> | AsyncIterable<unknown>;

/**
 * Describes a pipeline, stage by stage. Each method returns a new builder (the one it was
 * called on is unchanged), so one builder can be the common start of several pipelines, and
 * `build()` can be called again for a new run.
 */
export class PipelineBuilder<T> {
  readonly #source: Source;
  readonly #stages: readonly StageSpec[];

  /** @internal Use `pipeline(source)`. */
  constructor(source: Source, stages: readonly StageSpec[]) {
    this.#source = source;
    this.#stages = stages;
  }

  /**
   * Adds a stage that calls `step` for each item, up to `concurrency` (default 1) at once, and
   * hands on what it returns (awaited). `step` is a local function (sync or async, run on this
   * thread: keep it light) or a `task()` (run on a pool's worker thread).
   */
  pipe<U>(step: PipelineTask<T, U>, options?: PipeOptions): PipelineBuilder<U>;
  pipe<U>(step: (item: T) => U, options?: PipeOptions): PipelineBuilder<Awaited<U>>;
  pipe(
    step: ((item: never) => unknown) | PipelineTask<never, unknown>,
    options: PipeOptions = {},
  ): unknown {
    if (typeof step !== 'function' && !(step instanceof PipelineTask)) {
      throw invalidArgument('step', 'a function or a task()', step);
    }
    checkOptions<PipeOptions>('options', options, kPipeOptionKeys);
    // Needs no bound: calls start one per item read, never up front. Null is refused, not
    // taken for the default.
    const given = options.concurrency;
    const concurrency = checkInteger('concurrency', given === undefined ? 1 : given, 1);
    const name =
      checkName(options.name) ??
      (step instanceof PipelineTask ? step.exportName : step.name || 'pipe');
    // The item types were checked by the overloads; at run time a step takes anything.
    const runStep = step as LocalStep | PipelineTask<unknown, unknown>;
    return this.#with({ kind: 'map', name, concurrency, step: runStep });
  }

  /**
   * Adds a stage that gathers items into arrays of `size`; when the source ends, the items
   * left make a last, shorter array unless `dropLast` (default false).
   */
  aggregate(size: number, options: AggregateOptions = {}): PipelineBuilder<T[]> {
    // Needs no bound: a batch grows as items arrive, nothing is allocated for it up front.
    checkInteger('size', size, 1);
    checkOptions<AggregateOptions>('options', options, kAggregateOptionKeys);
    const dropLast = checkBoolean('dropLast', options.dropLast) ?? false;
    const name = checkName(options.name) ?? `aggregate(${size})`;
    return this.#with({ kind: 'aggregate', name, size, dropLast });
  }

  /**
   * Adds a stage that hands on each element of each item (an array, or any iterable) as an
   * item of its own. An item that is not iterable is a failure of this stage.
   */
  disaggregate(options: DisaggregateOptions = {}): PipelineBuilder<ElementOf<T>> {
    checkOptions<DisaggregateOptions>('options', options, kDisaggregateOptionKeys);
    const name = checkName(options.name) ?? 'disaggregate';
    return this.#with({ kind: 'disaggregate', name });
  }

  /**
   * Makes a pipeline that runs these stages over the source when it is first iterated.
   * Options: `ordered` (true), `buffer` (2), `maxFailures` (0), `onStats`, `statsIntervalMs`
   * (1000), `signal`, `progress` (false), `arena`. See docs/pipeline.md.
   */
  build(options?: PipelineBuildOptions): Pipeline<T> {
    const settings = pipelineSettings(options);
    return new Pipeline<T>(new PipelineRun(this.#source, this.#stages, settings));
  }

  #with<U>(stage: StageSpec): PipelineBuilder<U> {
    return new PipelineBuilder<U>(this.#source, [...this.#stages, stage]);
  }
}

/**
 * Starts describing a pipeline over `source`, an iterable or async iterable (the seed's SPDL
 * pipeline). The source is read on this thread, only as fast as the stages take its items.
 * Promises a sync iterable yields are awaited, as `for await` does.
 *
 * @example
 * const p = pipeline(paths)
 *   .pipe(readFile, { concurrency: 8 })                          // async, on this thread
 *   .pipe(task(decodeUrl, 'decode', { pool }), { concurrency: 2 }) // on the pool's threads
 *   .aggregate(32)
 *   .build({ ordered: true, buffer: 2, maxFailures: 0 });
 * for await (const batch of p) train(batch);
 * console.table(p.stats());
 */
export function pipeline<T>(source: AsyncIterable<T>): PipelineBuilder<T>;
export function pipeline<T>(source: Iterable<T>): PipelineBuilder<Awaited<T>>;
export function pipeline(source: Source): PipelineBuilder<unknown> {
  if (!isSource(source)) {
    throw invalidArgument('source', 'an iterable or an async iterable', source);
  }
  return new PipelineBuilder<unknown>(source, []);
}

function isSource(value: unknown): value is Source {
  if (value === null || value === undefined) return false;
  const candidate = value as Partial<Record<symbol, unknown>>;
  return (
    typeof candidate[Symbol.asyncIterator] === 'function' ||
    typeof candidate[Symbol.iterator] === 'function'
  );
}
