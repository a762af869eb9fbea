/**
 * What a DataLoader sends its workers, as data only. Each worker is a spawned remote built by
 * `startLoaderWorker(spec)` (worker/data-loader-worker.ts); chunks are method calls.
 */
import type { LoaderHook } from './messages.js';

/** A module export, by URL. */
export interface ExportSpec {
  readonly module: string;
  readonly name: string;
}

/** How a worker gets its dataset: the module itself, or what its factory export returns. */
export interface DatasetSpec {
  readonly module: string;
  readonly factory: string | undefined;
  readonly args: readonly unknown[];
}

/** Who collates a chunk in the worker: defaultCollate, a module export, or nobody (the caller). */
export type ChunkCollateSpec =
  | { readonly kind: 'default' }
  | { readonly kind: 'module'; readonly export: ExportSpec }
  | { readonly kind: 'none' };

/** The factory argument of one loader worker. */
export interface LoaderWorkerSpec {
  readonly dataset: DatasetSpec;
  readonly collate: ChunkCollateSpec;
  readonly workerInit: ExportSpec | undefined;
  readonly workerIndex: number;
  readonly numWorkers: number;
  readonly seed: number;
  /** The hooks that make TypeScript user modules load (transport/caller/loader-hooks.ts). */
  readonly loaderHooks: readonly LoaderHook[];
}
