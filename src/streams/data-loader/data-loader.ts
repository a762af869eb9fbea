/**
 * `DataLoader`: batches of a map-style dataset loaded by worker threads, one epoch per
 * `for await`. The public front; `LoaderEngine` and `EpochRun` do the work.
 */
import { KeelError, atCallSite, invalidArgument } from '../../errors.js';
import { checkTimeoutMs } from '../../options/checks.js';
import { checkOptions, type OptionKeys } from '../../options/known-keys.js';
import type { EpochRun } from './epoch-run.js';
import { LoaderEngine } from './loader-engine.js';
import { loaderSettings, type DataLoaderOptions } from './options.js';

/** The iterator of one epoch. `return()` (what `break` calls) stops loading. */
export interface EpochIterator<B> extends AsyncIterator<B, undefined, undefined>, AsyncDisposable {
  /** The next batch, in order; `{ done: true }` once the epoch is over. */
  next(): Promise<IteratorResult<B, undefined>>;
  /** Stops loading this epoch (what `break` calls). */
  return(): Promise<IteratorResult<B, undefined>>;
  /** Returns itself: an epoch is iterated once. */
  [Symbol.asyncIterator](): EpochIterator<B>;
}

/**
 * Loads a dataset in batches on `numWorkers` worker threads (or child processes, with
 * `kind: 'process'`), keeping the calling thread free: each batch is cut into chunks of
 * `chunkSize` indices, loaded and collated by different workers, and joined back in order here.
 * One epoch per `for await`; `loader.epoch` counts them.
 *
 * Options: `dataset` (required: a module exporting `length` and `getItem(index)`, or
 * `{ module, factory, args }`), `batchSize` (required), `numWorkers` (1), `kind` (`'thread'`),
 * `chunkSize` (`ceil(batchSize / numWorkers)`), `shuffle` (false), `seed` (random),
 * `dropLast` (false), `collate` (`defaultCollate`, in the workers), `prefetch`
 * (`2 * numWorkers` batches), `ordered` (true), `persistentWorkers` (false), `timeoutMs` (none,
 * per batch; `Infinity` is none too), `arena`, `workerInit` (`{ module, export }`, called with
 * the worker's index).
 * Any other key is refused ("did you mean prefetch?"); `numWorkers` is at most 16 per CPU.
 *
 * Rejections of `next()`: the error `getItem` or a collate threw (class, message, `code`,
 * `cause`, worker stack), or a `KeelError`: ERR_WORKER_EXITED (a worker died), ERR_TIMEOUT,
 * ERR_CLOSED (after `close()`), ERR_NOT_FOUND / ERR_START_FAILED (the dataset did not load),
 * ERR_INVALID_ARGUMENT (samples that do not collate, or another epoch of this loader is still
 * being iterated: one epoch at a time). After a rejection the epoch is over and its workers
 * are gone. The constructor throws ERR_INVALID_ARGUMENT for bad options, before any worker
 * starts.
 * See docs/data-loader.md.
 *
 * @example
 * const loader = new DataLoader<Collated<Sample>>({
 *   dataset: new URL('./images.js', import.meta.url), batchSize: 64, numWorkers: 2,
 *   shuffle: true, seed: 1,
 * });
 * for (let epoch = 0; epoch < 10; epoch++) {
 *   for await (const batch of loader) train(batch.image.data, batch.image.shape);
 * }
 * await loader.close();
 */
export class DataLoader<B = unknown> implements AsyncIterable<B> {
  readonly #engine: LoaderEngine;

  constructor(options: DataLoaderOptions<B>) {
    this.#engine = new LoaderEngine(loaderSettings(options));
    kAbandoned.register(this, this.#engine);
  }

  /**
   * Epochs started so far; the next epoch's order derives from `seed` and this number.
   * Assign it to resume a run at a given epoch.
   */
  get epoch(): number {
    return this.#engine.epoch;
  }

  /** Sets the epoch the next iteration loads (it picks the shuffle). */
  set epoch(value: number) {
    if (!Number.isSafeInteger(value) || value < 0)
      throw invalidArgument('epoch', 'a non-negative integer', value);
    this.#engine.epoch = value;
  }

  /** Batches per epoch; undefined until the workers of a first epoch have loaded the dataset. */
  get length(): number | undefined {
    return this.#engine.length;
  }

  /** The seed of the shuffle (the one given, or the one drawn at construction). */
  get seed(): number {
    return this.#engine.settings.seed;
  }

  /**
   * Starts an epoch. One epoch at a time: while another one is being iterated (from its first
   * `next()` until it ends or is left with `break` / `return()`), this iterator's `next()`
   * rejects with ERR_INVALID_ARGUMENT and the other goes on. After `close()` it rejects with
   * ERR_CLOSED.
   */
  [Symbol.asyncIterator](): EpochIterator<B> {
    let run: Epoch | undefined;
    try {
      run = this.#engine.closed ? undefined : this.#engine.startEpoch();
    } catch (error) {
      run = new RefusedEpoch(error); // an async API: the first next() rejects with it
    }
    return new EpochIteratorImpl<B>(this, this.#engine, run);
  }

  /**
   * Ends the current epoch (its pending `next()` rejects with ERR_CLOSED) and every worker:
   * chunks in flight and the dataset's dispose hook get `timeoutMs` (default 10 000), then
   * the workers are terminated. Idempotent.
   */
  async close(options: LoaderCloseOptions = {}): Promise<void> {
    checkOptions<LoaderCloseOptions>('options', options, kCloseOptionKeys);
    await this.#engine.close(checkTimeoutMs('timeoutMs', options?.timeoutMs));
  }

  /** The same as `close()`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** `close()`'s options. */
export interface LoaderCloseOptions {
  /** Grace for chunks in flight and dispose hooks, then the workers are terminated. Default 10 000; `Infinity`: wait. */
  readonly timeoutMs?: number;
}

const kCloseOptionKeys: OptionKeys<LoaderCloseOptions> = { timeoutMs: true };

/** What an epoch iterator drives. */
type Epoch = Pick<EpochRun, 'next' | 'return'>;

/** An epoch refused at its start (another one holds the loader): rejects once, then done. */
class RefusedEpoch implements Epoch {
  #reason: { readonly error: unknown } | undefined;

  constructor(error: unknown) {
    this.#reason = { error };
  }

  next(): Promise<IteratorResult<unknown, undefined>> {
    const reason = this.#reason;
    this.#reason = undefined;
    // Always a KeelError (loader-engine.ts, concurrentEpochError).
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
    if (reason) return Promise.reject(reason.error);
    return Promise.resolve({ done: true, value: undefined });
  }

  return(): Promise<IteratorResult<unknown, undefined>> {
    this.#reason = undefined;
    return Promise.resolve({ done: true, value: undefined });
  }
}

/**
 * A loader the program dropped without closing it would keep its idle workers (and their
 * datasets) for the life of the process: once it is garbage-collected, it is closed.
 */
const kAbandoned = new FinalizationRegistry<LoaderEngine>((engine) => {
  engine.close().catch(() => undefined);
});

class EpochIteratorImpl<B> implements EpochIterator<B> {
  /** Keeps the loader reachable while one of its epochs is: `for await (... of new DataLoader())`. */
  readonly #owner: DataLoader<B>;
  readonly #engine: LoaderEngine;
  readonly #run: Epoch | undefined;

  constructor(owner: DataLoader<B>, engine: LoaderEngine, run: Epoch | undefined) {
    this.#owner = owner;
    this.#engine = engine;
    this.#run = run;
  }

  /** The loader this epoch belongs to. */
  get loader(): DataLoader<B> {
    return this.#owner;
  }

  async next(): Promise<IteratorResult<B, undefined>> {
    try {
      if (this.#engine.closed || !this.#run) {
        throw new KeelError('ERR_CLOSED', 'the loader was closed');
      }
      return (await this.#run.next()) as IteratorResult<B, undefined>;
    } catch (error) {
      throw atCallSite(error, publicNext);
    }
  }

  async return(): Promise<IteratorResult<B, undefined>> {
    await this.#run?.return();
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator](): EpochIterator<B> {
    return this;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.return();
  }
}

// Only a marker for atCallSite: frames above it are the caller's.
// eslint-disable-next-line @typescript-eslint/unbound-method
const publicNext = EpochIteratorImpl.prototype.next;
