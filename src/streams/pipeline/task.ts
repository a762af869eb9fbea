/**
 * `task`: a pipeline step that runs a module's export on a keel `Pool`, one item per call.
 */
import { invalidArgument } from '../../errors.js';
import { moduleHref, type ModuleRef } from '../../execution/module-ref.js';
import { Pool } from '../../execution/pool/pool.js';
import { checkBoolean, checkTimeoutMs } from '../../options/checks.js';
import { checkOptions, type OptionKeys } from '../../options/known-keys.js';

/**
 * Marks a pool from another entry point that runs calls as `Pool.run` does (keel/queue's
 * `QueuePool`): `task()` accepts it, the layers below never import it.
 */
export const kTaskPool = Symbol.for('keel.taskPool');

/** Options of `task()`. */
export interface TaskOptions {
  /**
   * The pool to run on: a `Pool`, or a `QueuePool` (keel/queue) to run the stage across
   * machines. The pipeline never closes it. Default: a pool the pipeline makes when it starts
   * (shared by its task stages given no pool) and closes when it ends.
   */
  readonly pool?:
    | Pool
    | {
        /** Runs one call, as `Pool.run` does (a `QueuePool`'s `run`). */
        run: Pool['run'];
      };
  /**
   * Longest run of one call, counted from when it starts on a thread: then ERR_TIMEOUT (a
   * failure). Default and `Infinity`: none. Any finite value is honoured, however large.
   */
  readonly timeoutMs?: number;
  /**
   * When the pipeline stops (break, `return()`, a failure, abort), abort this stage's calls in
   * flight (true, the default: the threads running them are ended, and replaced, as
   * `pool.run`'s abort does) or let them finish and wait for them (false). An abortable call
   * gets a thread to itself; with false the pool may queue several calls on one thread, which
   * makes tiny tasks faster (see docs/pipeline.md).
   */
  readonly abortOnStop?: boolean;
}

const kTaskOptionKeys: OptionKeys<TaskOptions> = { pool: true, timeoutMs: true, abortOnStop: true };

/** The exports of module `M` that can be a task: functions of (at most) one argument. */
export type TaskName<M> = {
  [K in keyof M]: M[K] extends (item: never) => unknown ? K : never;
}[keyof M] &
  string;

/** The item a task export takes. */
export type TaskInput<F> = F extends (item: infer I) => unknown ? I : never;
/** What a task export resolves to. */
export type TaskOutput<F> = F extends (...args: never[]) => infer R ? Awaited<R> : never;

declare const kSignature: unique symbol;

/**
 * A step of a pipeline that runs on a pool: made by `task()`, given to `pipe()`. Opaque: its
 * type parameters are the item it takes and what it yields.
 */
export class PipelineTask<I, O> {
  /** Only for typing: the step takes I and yields O. Never set. */
  declare readonly [kSignature]?: (item: I) => O;
  /** @internal */
  readonly href: string;
  /** The export the task calls. */
  readonly exportName: string;
  /** @internal */
  readonly pool: TaskOptions['pool'];
  /** @internal */
  readonly timeoutMs: number | undefined;
  /** @internal */
  readonly abortOnStop: boolean;

  /** @internal Use `task()`. */
  constructor(href: string, exportName: string, options: TaskOptions) {
    this.href = href;
    this.exportName = exportName;
    this.pool = options.pool;
    // Infinity is no timeout at all: the call is made without one.
    this.timeoutMs = options.timeoutMs === Infinity ? undefined : options.timeoutMs;
    this.abortOnStop = options.abortOnStop ?? true;
  }
}

/**
 * A pipeline step that calls export `exportName` of a module on a worker thread of a keel
 * `Pool`, with the item as its only argument, and yields what it returns (awaited). Errors
 * keep their class, message, `cause` and the worker's stack, as `pool.run`'s do. Binary
 * leaves ride the pool's arena, if it has one.
 *
 * @example
 * const resize = task<typeof import('./images.js'), 'resize'>(imagesUrl, 'resize', { pool });
 * const p = pipeline(files).pipe(readFile, { concurrency: 8 }).pipe(resize, { concurrency: 2 }).build();
 */
export function task<M, K extends TaskName<M>>(
  moduleRef: ModuleRef,
  exportName: K,
  options?: TaskOptions,
): PipelineTask<TaskInput<M[K]>, TaskOutput<M[K]>>;
export function task<I = unknown, O = unknown>(
  moduleRef: ModuleRef,
  exportName: string,
  options?: TaskOptions,
): PipelineTask<I, O>;
export function task(
  moduleRef: ModuleRef,
  exportName: string,
  options: TaskOptions = {},
): PipelineTask<unknown, unknown> {
  const href = moduleHref(moduleRef);
  if (typeof exportName !== 'string' || exportName.length === 0) {
    throw invalidArgument('exportName', 'a non-empty string', exportName);
  }
  checkOptions<TaskOptions>('options', options, kTaskOptionKeys);
  const pool: unknown = options.pool;
  if (
    pool !== undefined &&
    !(pool instanceof Pool) &&
    (Object(pool) as Record<symbol, unknown>)[kTaskPool] !== true
  ) {
    throw invalidArgument('options.pool', 'a Pool or a QueuePool', pool);
  }
  checkTimeoutMs('timeoutMs', options.timeoutMs);
  checkBoolean('abortOnStop', options.abortOnStop);
  return new PipelineTask(href, exportName, options);
}
