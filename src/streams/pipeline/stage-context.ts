/**
 * What a stage runner sees of its run: its two channels, its counters, and the run's verdicts.
 */
import type { Pool } from '../../execution/pool/pool.js';
import type { Channel } from './channel.js';
import type { StageCounters } from './stage-stats.js';

export interface StageContext {
  readonly input: Channel<unknown>;
  readonly output: Channel<unknown>;
  readonly counters: StageCounters;
  readonly ordered: boolean;
  /** Aborted when the run stops: ends waits and in-flight pool tasks. */
  readonly stopSignal: AbortSignal;
  /** The pool a task stage given no pool runs on (made by the run when it starts). */
  readonly ownPool: Pool | undefined;
  /** True once the run is stopping: start nothing new. */
  stopping(): boolean;
  /** Counts a failed item of this stage; the run stops once failures exceed `maxFailures`. */
  itemFailed(error: unknown): void;
}

/** Hands one output on; false when the run is stopping (the value is dropped). */
export async function emit(context: StageContext, value: unknown): Promise<boolean> {
  if (!(await context.output.put(value))) return false;
  context.counters.outputs++;
  return true;
}
