/**
 * Far side: the object one DataLoader worker serves, built in a dedicated worker thread or child
 * process by `spawn(thisModule, 'startLoaderWorker', [spec])`. It loads the dataset once, runs
 * `workerInit(index)` once, then loads and collates chunks of indices, one call per chunk.
 * Imports only code that is safe in a worker: the module loader, errors and collate.
 */
import { KeelError } from '../errors.js';
import type { ChunkCollateSpec, LoaderWorkerSpec } from '../protocol/loader-messages.js';
import { defaultCollate } from '../tensors/collate.js';
import { isMoved, move } from '../values/move.js';
import { ModuleLoader, pickExport } from './module-loader.js';

/** The dataset, once loaded: what the module or factory gave, and its getItem bound to it. */
interface Dataset {
  /** The module namespace, or the factory's object. */
  readonly source: Record<string, unknown>;
  readonly getItem: (index: number) => unknown;
  /** Only a factory's object is disposed: a module namespace is not ours to end. */
  readonly owned: boolean;
}

/** The remote object of one loader worker. */
export interface LoaderWorker {
  /** Items in the dataset, as this worker sees it now. */
  datasetLength(): Promise<number>;
  /** `getItem` of every index in order, then the chunk's collate. */
  loadChunk(indices: Uint32Array): Promise<unknown>;
  [Symbol.asyncDispose](): Promise<void>;
}

type Collate = (samples: unknown[]) => unknown;

export async function startLoaderWorker(spec: LoaderWorkerSpec): Promise<LoaderWorker> {
  const loader = new ModuleLoader(spec.loaderHooks);
  const dataset = await loadDataset(loader, spec);
  const collate = await chunkCollate(loader, spec.collate);
  if (spec.workerInit) {
    const init = await loader.load({ kind: 'export', ...spec.workerInit });
    await init(spec.workerIndex, {
      workerIndex: spec.workerIndex,
      numWorkers: spec.numWorkers,
      seed: spec.seed,
      dataset: dataset.source,
    });
  }
  return {
    datasetLength: async () => lengthOf(dataset, spec.dataset.module),
    loadChunk: async (indices) => {
      const pending = Array.from(indices, (index) => dataset.getItem(index));
      const samples = await Promise.all(pending);
      if (!collate) return samples;
      const batch = collate(samples);
      // defaultCollate builds the batch in fresh memory: items that were moved move their batch.
      return spec.collate.kind === 'default' && samples.some(isMoved) ? move(batch) : batch;
    },
    [Symbol.asyncDispose]: async () => {
      await disposeOf(dataset);
    },
  };
}

async function loadDataset(loader: ModuleLoader, spec: LoaderWorkerSpec): Promise<Dataset> {
  const { module, factory, args } = spec.dataset;
  const namespace = await loader.loadModule(module);
  const built: unknown = factory
    ? await pickExport(namespace, module, factory)(...args)
    : namespace;
  if ((typeof built !== 'object' && typeof built !== 'function') || built === null) {
    throw new KeelError(
      'ERR_START_FAILED',
      `the dataset factory '${String(factory)}' of ${module} returned ${String(built)}, not an object`,
    );
  }
  const getItem = (built as { getItem?: unknown }).getItem;
  if (typeof getItem !== 'function') {
    throw new KeelError(
      'ERR_NOT_FOUND',
      `the dataset ${factory ? `that '${factory}' of ${module} returned` : module} has no ` +
        'getItem(index) function',
    );
  }
  const source = built as Record<string, unknown>;
  return {
    source,
    getItem: (index) => (getItem as (index: number) => unknown).call(source, index),
    owned: factory !== undefined,
  };
}

async function lengthOf(dataset: Dataset, module: string): Promise<number> {
  const raw = dataset.source.length;
  const length: unknown =
    typeof raw === 'function' ? await (raw as () => unknown).call(dataset.source) : raw;
  if (
    typeof length !== 'number' ||
    !Number.isInteger(length) ||
    length < 0 ||
    length > 2 ** 32 - 1
  ) {
    throw new KeelError(
      'ERR_INVALID_ARGUMENT',
      `the length of the dataset ${module} must be an integer from 0 to 2^32 - 1, got ${String(length)}`,
    );
  }
  return length;
}

async function chunkCollate(
  loader: ModuleLoader,
  spec: ChunkCollateSpec,
): Promise<Collate | undefined> {
  if (spec.kind === 'none') return undefined;
  if (spec.kind === 'default') return defaultCollate;
  return await loader.load({ kind: 'export', ...spec.export });
}

/** A dataset built by a factory may hold resources: its dispose hook runs when the worker ends. */
async function disposeOf(dataset: Dataset): Promise<void> {
  if (!dataset.owned) return;
  const target = dataset.source as Partial<AsyncDisposable & Disposable>;
  const disposeAsync = target?.[Symbol.asyncDispose];
  const dispose = target?.[Symbol.dispose];
  if (typeof disposeAsync === 'function') await disposeAsync.call(target);
  else if (typeof dispose === 'function') dispose.call(target);
}
