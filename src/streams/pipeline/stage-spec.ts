/**
 * What a pipeline's stages are, as data: the builder makes these, a run executes them.
 */
import type { PipelineTask } from './task.js';

/** A local function (sync or async) applied to each item on the calling thread. */
export type LocalStep = (item: unknown) => unknown;

export type StageSpec =
  | {
      readonly kind: 'map';
      readonly name: string;
      readonly concurrency: number;
      readonly step: LocalStep | PipelineTask<unknown, unknown>;
    }
  | {
      readonly kind: 'aggregate';
      readonly name: string;
      readonly size: number;
      readonly dropLast: boolean;
    }
  | { readonly kind: 'disaggregate'; readonly name: string };

export type MapStageSpec = Extract<StageSpec, { kind: 'map' }>;
export type AggregateStageSpec = Extract<StageSpec, { kind: 'aggregate' }>;
