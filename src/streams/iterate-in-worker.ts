/**
 * `iterateInWorker`: a generator run in a dedicated worker thread or child process, consumed
 * here with `for await`. The public front; `StreamController` does the work.
 */
import { atCallSite, invalidArgument } from '../errors.js';
import { moduleHref, type ModuleRef } from '../execution/module-ref.js';
import type { FactoryArgs } from '../execution/spawn/remote-types.js';
import {
  kDone,
  StreamController,
  type StreamEngine,
  type StreamResult,
} from './stream-controller.js';
import { streamSettings, type IterateInWorkerOptions } from './stream-options.js';
import type { SchedulingReport } from '../platform/scheduling.js';

/**
 * The exports of module `M` that can feed a stream: functions returning an iterable or an async
 * iterable (sync and async generator functions), or a promise of one.
 */
export type StreamName<M> = {
  [K in keyof M]: M[K] extends (...args: never[]) => infer R
    ? Awaited<R> extends Iterable<unknown> | AsyncIterable<unknown>
      ? K
      : never
    : never;
}[keyof M] &
  string;

/**
 * What a stream of export `F` yields, as the loop gets it: the items of the async iterable, or
 * the awaited items of the iterable, `F` returns.
 *
 * @example
 * type Frame = StreamItem<typeof import('./camera.js')['frames']>;
 */
export type StreamItem<F> = F extends (...args: never[]) => infer R ? ItemOf<Awaited<R>> : never;

/** What iterating `I` gives: the items of an async iterable, the awaited items of an iterable. */
export type ItemOf<I> =
  I extends AsyncIterable<infer T> ? T : I extends Iterable<infer T> ? Awaited<T> : never;

/**
 * The iterator `iterateInWorker` returns: use it once, with `for await`. `return()` (what
 * `break` calls) ends the generator in the worker and resolves once the worker has exited.
 */
export interface WorkerIterator<T> extends AsyncIterator<T, undefined, undefined>, AsyncDisposable {
  /** The next item the generator yielded; `{ done: true }` once it returned. */
  next(): Promise<IteratorResult<T, undefined>>;
  /**
   * The polling take, for a loop that must not await (a `RealtimeLoop` tick): the next item if
   * it has arrived, `{ done: true }` once the stream ended, or `undefined` when nothing is ready
   * yet. Throws what `next()` would reject with. Never waits; the first call starts the worker.
   * A loop that only polls never sleeps on the stream, so the worker never pays a wake-up.
   */
  tryNext(): IteratorResult<T, undefined> | undefined;
  /** Ends the generator in the worker (its `finally` runs) and the worker. */
  return(): Promise<IteratorResult<T, undefined>>;
  /** Returns itself: a stream is iterated once. */
  [Symbol.asyncIterator](): WorkerIterator<T>;
  /**
   * What the OS applied to the worker's thread (a child's main thread with `kind: 'process'`)
   * when `priority` or `cpus` was given: policy, realtime priority, nice, CPUs, fallback.
   * Undefined until the worker booted (it starts at the first `next()`), and when neither was
   * given.
   */
  scheduling(): SchedulingReport | undefined;
}

/**
 * Runs the generator `exportName` of a module in a dedicated worker thread (or child process)
 * and yields what it yields, in order. The worker starts at the first `next()`. At most
 * `buffer` items (default 4) wait unread: the generator is paused, not run ahead. Breaking out
 * of the loop ends the generator (its `finally` runs in the worker) and the worker.
 *
 * Options (all optional): `kind` ('thread'), `buffer` (4), `timeoutMs` (none: an inactivity
 * limit per item; `Infinity` is none too), `signal`, `arena` (threads and processes), `resourceLimits`,
 * `env`, `execArgv`, and `priority`, `rtPriority`, `cpus`, `priorityFallback` (the worker's
 * scheduling class and CPUs, see docs/realtime.md). Any other key is refused ("did you mean
 * buffer?").
 *
 * Rejections: the generator's own error (class, message, `code`, `cause`, worker stack), or a
 * `KeelError`: ERR_NOT_FOUND (no such module or export), ERR_START_FAILED (the module failed
 * to load, or the worker could not start or exited before it was ready: a bad `execArgv`
 * flag, with a child's stderr in the message), ERR_INVALID_ARGUMENT (bad arguments or options,
 * checked before anything starts, or the export returned something not iterable),
 * ERR_NOT_CLONEABLE (an argument or item cannot cross), ERR_TIMEOUT (`timeoutMs`),
 * ERR_WORKER_EXITED (the worker died); an abort rejects with `signal.reason`. After a
 * rejection the iterator is done. See docs/streams.md.
 *
 * @example
 * const arena = new Arena({ bytes: 64 * 2 ** 20 });
 * for await (const frame of iterateInWorker<typeof import('./camera.js'), 'frames'>(
 *   cameraUrl, 'frames', [30], { arena, buffer: 4, timeoutMs: 1000 },
 * )) {
 *   show(frame);   // a view over the arena, no copy
 *   release(frame); // its space goes back to the worker now
 * }
 */
export function iterateInWorker<M, K extends StreamName<M>>(
  moduleRef: ModuleRef,
  exportName: K,
  args?: FactoryArgs<M[K]>,
  options?: IterateInWorkerOptions,
): WorkerIterator<StreamItem<M[K]>>;
export function iterateInWorker<T = unknown>(
  moduleRef: ModuleRef,
  exportName: string,
  args?: readonly unknown[],
  options?: IterateInWorkerOptions,
): WorkerIterator<T>;
export function iterateInWorker(
  moduleRef: ModuleRef,
  exportName: string,
  args: readonly unknown[] = [],
  options: IterateInWorkerOptions = {},
): WorkerIterator<unknown> {
  let engine: StreamEngine;
  try {
    const module = moduleHref(moduleRef);
    if (typeof exportName !== 'string' || exportName.length === 0) {
      throw invalidArgument('exportName', 'a non-empty string', exportName);
    }
    if (!Array.isArray(args)) throw invalidArgument('args', 'an array', args);
    engine = new StreamController(streamSettings(options), { module, name: exportName, args });
  } catch (error) {
    // Async API: a bad argument rejects the first next(), it does not throw here.
    engine = new FailedStream(error);
  }
  const iterator = new StreamIterator(engine);
  if (engine instanceof StreamController) kAbandoned.register(iterator, engine);
  return iterator;
}

/**
 * An iterator the program dropped without ending it (no `break`, no `return()`) would leave
 * its worker paused for the life of the process: once the iterator is garbage-collected, its
 * generator is ended as by `return()` (its `finally` runs) and the worker exits.
 */
const kAbandoned = new FinalizationRegistry<StreamController>((engine) => {
  engine.return().catch(() => undefined);
});

/** An iterator whose arguments were invalid: its first `next()` rejects, then it is done. */
class FailedStream implements StreamEngine {
  #reason: { readonly error: unknown } | undefined;

  constructor(error: unknown) {
    this.#reason = { error };
  }

  next(): Promise<StreamResult> {
    const reason = this.#reason;
    this.#reason = undefined;
    // A validation failure: always a KeelError.
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
    return reason ? Promise.reject(reason.error) : Promise.resolve(kDone);
  }

  tryNext(): StreamResult {
    const reason = this.#reason;
    this.#reason = undefined;
    if (reason) throw reason.error;
    return kDone;
  }

  return(): Promise<StreamResult> {
    this.#reason = undefined;
    return Promise.resolve(kDone);
  }
}

class StreamIterator<T> implements WorkerIterator<T> {
  readonly #engine: StreamEngine;

  constructor(engine: StreamEngine) {
    this.#engine = engine;
  }

  async next(): Promise<IteratorResult<T, undefined>> {
    try {
      return (await this.#engine.next()) as IteratorResult<T, undefined>;
    } catch (error) {
      throw atCallSite(error, publicNext);
    }
  }

  tryNext(): IteratorResult<T, undefined> | undefined {
    try {
      return this.#engine.tryNext() as IteratorResult<T, undefined> | undefined;
    } catch (error) {
      throw atCallSite(error, publicTryNext);
    }
  }

  async return(): Promise<IteratorResult<T, undefined>> {
    try {
      return (await this.#engine.return()) as IteratorResult<T, undefined>;
    } catch (error) {
      throw atCallSite(error, publicReturn);
    }
  }

  [Symbol.asyncIterator](): WorkerIterator<T> {
    return this;
  }

  scheduling(): SchedulingReport | undefined {
    return this.#engine.scheduling?.();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.return();
  }
}

// The methods are only markers for atCallSite: frames above them are the caller's.
// eslint-disable-next-line @typescript-eslint/unbound-method
const publicNext = StreamIterator.prototype.next;
// eslint-disable-next-line @typescript-eslint/unbound-method
const publicReturn = StreamIterator.prototype.return;
// eslint-disable-next-line @typescript-eslint/unbound-method
const publicTryNext = StreamIterator.prototype.tryNext;
