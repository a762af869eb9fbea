/**
 * `PipelineRun`: one execution of a built pipeline. It wires the source, the stages and the
 * consumer with bounded channels, counts failures, and stops everything on `return()`, on a
 * failure past `maxFailures`, or on abort. Caller side: stages run on this thread's event loop,
 * task stages hand their calls to a keel Pool.
 */
import { availableParallelism } from 'node:os';
import { abortReason } from '../../errors.js';
import { Pool } from '../../execution/pool/pool.js';
import { runAggregate, runDisaggregate } from './batch-stages.js';
import { Channel, type Failure } from './channel.js';
import { runMapStage } from './map-stage.js';
import type { PipelineSettings } from './pipeline-options.js';
import { ProgressView, type ProgressOptions } from './progress-view.js';
import { SourcePump } from './source-pump.js';
import type { StageContext } from './stage-context.js';
import type { StageSpec } from './stage-spec.js';
import { StageCounters, type PipelineStageStats } from './stage-stats.js';
import { StatsReporter } from './stats-reporter.js';
import { PipelineTask } from './task.js';

type Source = Iterable<unknown> | AsyncIterable<unknown>;
const kDone: IteratorReturnResult<undefined> = { done: true, value: undefined };

export class PipelineRun {
  readonly #source: Source;
  readonly #stages: readonly StageSpec[];
  readonly #settings: PipelineSettings;
  readonly #counters: readonly StageCounters[];
  /** `#channels[i]` feeds stage i; the last one feeds the consumer. */
  readonly #channels: readonly Channel<unknown>[];
  readonly #stop = new AbortController();
  readonly #reporter: StatsReporter;
  #started = false;
  /** The consumer saw the end of the stream: every stage has finished by itself. */
  #ended = false;
  #stopping = false;
  /** The first fatal error, and whether it was already thrown to the consumer. */
  #failure: Failure | undefined;
  /** The first failed item's error: what a run stopped by too many failures rejects with. */
  #firstItemFailure: Failure | undefined;
  #failureReported = false;
  /** An abort is reported at once, without waiting for the stages to wind down. */
  #aborted = false;
  /** What the source's `return()` threw when the consumer stopped the run. */
  #closeFailure: Failure | undefined;
  #pump: SourcePump | undefined;
  #ownPool: Pool | undefined;
  readonly #workers: Promise<void>[] = [];
  #cleanup: Promise<void> | undefined;
  readonly #onAbort = (): void => {
    this.#fail(abortReason(this.#settings.signal!), true);
  };

  constructor(source: Source, stages: readonly StageSpec[], settings: PipelineSettings) {
    this.#source = source;
    this.#stages = stages;
    this.#settings = settings;
    this.#counters = stages.map((stage) => new StageCounters(stage.name));
    this.#channels = [...stages, undefined].map(() => new Channel<unknown>(settings.buffer));
    this.#reporter = new StatsReporter(
      settings,
      () => this.stats(),
      (error) => {
        this.#fail(error);
      },
    );
    // The build option `progress` was validated and then dropped: it never drew anything.
    if (settings.progress) this.showProgress(settings.progress);
  }

  stats(): PipelineStageStats[] {
    return this.#counters.map((counters, index) => counters.snapshot(this.#channels[index]!.size));
  }

  /** True once the run is over: ended, failed, stopped or aborted. */
  isOver(): boolean {
    return this.#ended || this.#stopping;
  }

  showProgress(options: ProgressOptions): void {
    const view = ProgressView.open(() => this.stats(), options);
    if (view) this.#reporter.addView(view);
  }

  async next(): Promise<IteratorResult<unknown, undefined>> {
    if (!this.#started) this.#start();
    const pulled = await this.#channels[this.#stages.length]!.get();
    if (pulled.kind === 'item') return { done: false, value: pulled.value };
    if (pulled.kind === 'end') {
      this.#ended = true;
      this.#failure ??= pulled.failure;
      await (this.#cleanup ??= this.#windDown());
    } else if (!this.#aborted) {
      await this.#cleanup;
    }
    if (this.#failure && !this.#failureReported) {
      this.#failureReported = true;
      throw this.#failure.error;
    }
    return kDone;
  }

  /** Stops the run (or marks it done if it never started) and waits until nothing runs. */
  async return(): Promise<IteratorResult<unknown, undefined>> {
    // Before the start there is nothing to stop; later next() calls are done.
    this.#started = true;
    this.#halt();
    await this.#cleanup;
    // The consumer has left: a failure it did not see is not reported later.
    this.#failureReported = true;
    const closeFailure = this.#closeFailure;
    this.#closeFailure = undefined;
    if (closeFailure) throw closeFailure.error;
    return kDone;
  }

  #start(): void {
    this.#started = true;
    const signal = this.#settings.signal;
    if (signal?.aborted) {
      this.#fail(abortReason(signal), true);
      return;
    }
    signal?.addEventListener('abort', this.#onAbort, { once: true });
    try {
      this.#pump = new SourcePump(this.#source);
      const concurrency = this.#ownPoolConcurrency();
      this.#ownPool = concurrency > 0 ? this.#makeOwnPool(concurrency) : undefined;
    } catch (error) {
      this.#fail(error);
      return;
    }
    this.#reporter.start();
    this.#workers.push(this.#pump.run(this.#channels[0]!, () => this.#stopping));
    this.#stages.forEach((stage, index) => {
      this.#workers.push(
        this.#runStage(stage, this.#contextOf(index)).catch((error: unknown) => {
          this.#fail(error);
        }),
      );
    });
  }

  #runStage(stage: StageSpec, context: StageContext): Promise<void> {
    if (stage.kind === 'map') return runMapStage(stage, context);
    if (stage.kind === 'aggregate') return runAggregate(stage, context);
    return runDisaggregate(context);
  }

  #contextOf(index: number): StageContext {
    const counters = this.#counters[index]!;
    return {
      input: this.#channels[index]!,
      output: this.#channels[index + 1]!,
      counters,
      ordered: this.#settings.ordered,
      stopSignal: this.#stop.signal,
      ownPool: this.#ownPool,
      stopping: () => this.#stopping,
      itemFailed: (error) => {
        if (this.#stopping) return;
        counters.failures++;
        this.#firstItemFailure ??= { error };
        if (this.#totalFailures() > this.#settings.maxFailures) {
          this.#fail(this.#firstItemFailure.error);
        }
      },
    };
  }

  #totalFailures(): number {
    return this.#counters.reduce((sum, counters) => sum + counters.failures, 0);
  }

  /** Stops the run because of `error`, unless it already ended or is stopping. */
  #fail(error: unknown, aborted = false): void {
    if (this.#ended || this.#stopping) return;
    this.#aborted = aborted;
    this.#failure = { error };
    this.#halt();
  }

  /** Stops every part of the run; `#cleanup` settles once nothing of it runs any more. */
  #halt(): void {
    if (this.#ended || this.#stopping) return;
    this.#stopping = true;
    this.#stop.abort();
    for (const channel of this.#channels) channel.stop();
    this.#cleanup ??= this.#windDown();
  }

  async #windDown(): Promise<void> {
    this.#settings.signal?.removeEventListener('abort', this.#onAbort);
    const closing = this.#pump?.close().catch((error: unknown) => {
      // Reported by return(); when a failure stopped the run, that failure is what counts.
      if (!this.#failure) this.#closeFailure = { error };
    });
    await Promise.all([closing, ...this.#workers]);
    // Nothing runs on it any more (calls in flight were aborted and have settled).
    await this.#ownPool?.close({ force: true }).catch(() => undefined);
    const reportError = this.#reporter.stop();
    if (reportError && !this.#failure) this.#failure = reportError;
  }

  /** Calls at once that task stages given no pool can make: 0 when there is no such stage. */
  #ownPoolConcurrency(): number {
    let concurrency = 0;
    for (const stage of this.#stages) {
      if (stage.kind === 'map' && stage.step instanceof PipelineTask && !stage.step.pool) {
        concurrency += stage.concurrency;
      }
    }
    return concurrency;
  }

  /** One pool for every task stage given none, with no more threads than they keep busy. */
  #makeOwnPool(concurrency: number): Pool {
    const arena = this.#settings.arena;
    return new Pool({
      maxThreads: Math.min(availableParallelism(), concurrency),
      ...(arena === undefined ? {} : { arena }),
    });
  }
}
