/**
 * Per-stage counters of a running pipeline, and their public snapshot.
 */
import { Histogram } from '../../metrics/histogram.js';

/** One stage of `pipeline.stats()`. Counts are since the pipeline started. */
export interface PipelineStageStats {
  /** The stage's name: the `name` option, else the function's name, the task's export name, `aggregate(<size>)` or `disaggregate`. */
  readonly name: string;
  /** Items the stage took from its input. */
  readonly inputs: number;
  /** Items the stage handed on (batches for `aggregate`, elements for `disaggregate`). */
  readonly outputs: number;
  /** Items whose call threw (or, for `disaggregate`, that were not iterable). */
  readonly failures: number;
  /** Time of one call, start to settle, in ms (a pool task's includes its wait for a thread); 0 for aggregate and disaggregate. */
  readonly taskMs: {
    /** The mean time of one task, ms. */
    readonly avg: number;
    /** The 99th percentile, ms. */
    readonly p99: number;
  };
  /** Items waiting in the stage's input buffer now. */
  readonly queued: number;
}

export class StageCounters {
  readonly name: string;
  inputs = 0;
  outputs = 0;
  failures = 0;
  /** Call durations in microseconds (the histogram is exact to 2 %). */
  readonly #taskUs = new Histogram();

  constructor(name: string) {
    this.name = name;
  }

  recordTaskMs(ms: number): void {
    this.#taskUs.record(ms * 1000);
  }

  snapshot(queued: number): PipelineStageStats {
    return {
      name: this.name,
      inputs: this.inputs,
      outputs: this.outputs,
      failures: this.failures,
      taskMs: { avg: this.#taskUs.mean / 1000, p99: this.#taskUs.percentile(0.99) / 1000 },
      queued,
    };
  }
}
