/** Shared by the DataLoader tests: the fixture dataset, its sample type, and collectors. */
import { DataLoader, type Collated, type DataLoaderOptions } from 'keel';
import { fixture } from './helpers.ts';

/** What `makeDataset` (test/fixtures/loader-dataset.mjs) returns for one index. */
export interface Sample {
  index: number;
  x: Float32Array;
  threadId: number;
  workerIndex: number;
  initCalls: number;
  initNumWorkers: number;
  initSawDataset: boolean;
}

export type Batch = Collated<Sample>;

export const datasetUrl = fixture('loader-dataset.mjs');

/** Options of `makeDataset`. */
export interface DatasetOptions {
  length: number;
  log?: SharedArrayBuffer;
  shape?: number;
  delayMsByWorker?: number[];
  failAt?: number;
  crashAt?: number;
  hangAt?: number;
  disposals?: SharedArrayBuffer;
  gateAt?: number;
  gate?: SharedArrayBuffer;
}

export function dataset(options: DatasetOptions): DataLoaderOptions['dataset'] {
  return { module: datasetUrl, factory: 'makeDataset', args: [options] };
}

export function makeLoader(
  data: DatasetOptions,
  options: Omit<DataLoaderOptions<Batch>, 'dataset'>,
): DataLoader<Batch> {
  return new DataLoader<Batch>({ dataset: dataset(data), ...options });
}

/** The dataset indices of every batch of one epoch, in the order the batches came. */
export async function epochIndices(loader: AsyncIterable<Batch>): Promise<number[][]> {
  const batches: number[][] = [];
  for await (const batch of loader) batches.push(Array.from(batch.index.data));
  return batches;
}

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

export function range(length: number): number[] {
  return Array.from({ length }, (_, index) => index);
}

/** A request log for `makeDataset`: [0] counts getItem calls, [1 + i] the calls for index i. */
export class RequestLog {
  readonly buffer: SharedArrayBuffer;
  readonly #view: Int32Array;

  constructor(length: number) {
    this.buffer = new SharedArrayBuffer(4 * (length + 1));
    this.#view = new Int32Array(this.buffer);
  }

  get total(): number {
    return Atomics.load(this.#view, 0);
  }

  callsFor(index: number): number {
    return Atomics.load(this.#view, 1 + index);
  }

  /** Resolves once at least `count` getItem calls were made; rejects after `timeoutMs`. */
  async reach(count: number, timeoutMs = 20_000): Promise<void> {
    const view = this.#view;
    await until(
      () => Atomics.load(view, 0) >= count,
      timeoutMs,
      () => {
        return `only ${Atomics.load(view, 0)} of ${count} requests were made`;
      },
    );
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves once `view[0]` reached `count`; rejects after `timeoutMs`. */
export async function counterReaches(
  view: Int32Array,
  count: number,
  timeoutMs = 20_000,
  poll?: () => void,
): Promise<void> {
  await until(
    () => {
      poll?.();
      return Atomics.load(view, 0) >= count;
    },
    timeoutMs,
    () => `the counter stayed at ${Atomics.load(view, 0)}`,
  );
}

/**
 * Polls `done` every 10 ms. A timer, not Atomics.waitAsync: a pending waitAsync does not keep
 * the event loop alive, and the test runner cancels a test whose loop ran dry.
 */
async function until(done: () => boolean, timeoutMs: number, explain: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(explain());
    await sleep(10);
  }
}
