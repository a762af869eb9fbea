/**
 * `Pipeline`: what `build()` returns. The public front of one run: an async iterator with
 * `stats()` and `progress()`; `PipelineRun` does the work.
 */
import { KeelError } from '../../errors.js';
import type { PipelineRun } from './pipeline-run.js';
import { checkProgressOptions, type ProgressOptions } from './progress-view.js';
import type { PipelineStageStats } from './stage-stats.js';

/**
 * A running (or ready) pipeline: iterate it once with `for await`. It is its own iterator, so
 * a loop may take some items with `next()` and a `for await` continue from there. Once its run
 * is over (the source ended, a failure stopped it, `break`, `return()` or abort), a new
 * `for await` over it rejects with ERR_CLOSED: build another one.
 */
export class Pipeline<T> implements AsyncIterator<T, undefined, undefined>, AsyncDisposable {
  readonly #run: PipelineRun;

  /** @internal Use `pipeline(...).build()`. */
  constructor(run: PipelineRun) {
    this.#run = run;
    kAbandoned.register(this, run);
  }

  /** The next output; starts the run at the first call. Rejects with the run's error. */
  async next(): Promise<IteratorResult<T, undefined>> {
    return (await this.#run.next()) as IteratorResult<T, undefined>;
  }

  /**
   * Stops the run: the source is ended (its `return()` is called, its `finally` blocks run),
   * no new call starts, pool tasks in flight are aborted and local calls in flight awaited.
   * Resolves once nothing of the run is left running; rejects with what the source's
   * `return()` threw, if it threw.
   */
  async return(): Promise<IteratorResult<T, undefined>> {
    return (await this.#run.return()) as IteratorReturnResult<undefined>;
  }

  /** Starts the run (once): `for await (const item of p)`. */
  [Symbol.asyncIterator](): AsyncIterator<T, undefined, undefined> {
    if (this.#run.isOver()) return kClosedIterator;
    return this;
  }

  /** Stops the run: the source and every stage end, as after a `break`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.return();
  }

  /** One entry per stage, in pipeline order. */
  stats(): PipelineStageStats[] {
    return this.#run.stats();
  }

  /**
   * Draws a live view of the stages (items/s, counts, queues) on a terminal, redrawn in place
   * until the run ends. Does nothing when the stream (default `process.stderr`) is not a TTY.
   */
  progress(options: ProgressOptions = {}): this {
    this.#run.showProgress(checkProgressOptions(options));
    return this;
  }
}

/**
 * A pipeline the program dropped mid-way (no `break`, no `return()`) would leave its source
 * paused and, with a user's pool, nothing else; once the pipeline is garbage-collected, it is
 * stopped as by `return()`, so that the source's `finally` blocks run.
 */
const kAbandoned = new FinalizationRegistry<PipelineRun>((run) => {
  run.return().catch(() => undefined);
});

/** What a second `for await` over a finished pipeline gets. */
const kClosedIterator: AsyncIterator<never, undefined, undefined> = {
  next: () =>
    Promise.reject(
      new KeelError(
        'ERR_CLOSED',
        'this pipeline already ran (to its end, or until it was stopped); a pipeline runs once: call build() again for a new run',
      ),
    ),
  return: () => Promise.resolve({ done: true, value: undefined }),
};
