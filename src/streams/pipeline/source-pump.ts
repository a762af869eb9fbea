/**
 * The source of a run: pulls the user's iterable or async iterable into the first channel,
 * only when that channel has room, so the source never runs more than `buffer` items ahead of
 * the first stage.
 */
import { setLongTimeout, type LongTimeout } from '../../timers/long-timeout.js';
import type { Channel } from './channel.js';

type AnyIterator = Iterator<unknown> | AsyncIterator<unknown>;
const kClosed = Symbol('closed');
/**
 * How long a stop waits for a source caught inside `next()` to return: an async generator runs
 * `return()` only after its pending `next()` settles, which for a source waiting on data that
 * does not come (an idle socket) may be never.
 */
export const kStuckSourceGraceMs = 1000;

export class SourcePump {
  readonly #iterator: AnyIterator;
  /** Sync iterators yield promises as values; they are awaited, as `for await` does. */
  readonly #sync: boolean;
  #finished = false;
  /** A `next()` of the source has not settled yet. */
  #pulling = false;
  /** Settles when close() is called: a pull still waiting for the source stops waiting. */
  #markClosed!: (closed: typeof kClosed) => void;
  readonly #closed = new Promise<typeof kClosed>((resolve) => {
    this.#markClosed = resolve;
  });

  /** Opens the source's iterator now; throws what the source's `[Symbol.*iterator]()` throws. */
  constructor(source: Iterable<unknown> | AsyncIterable<unknown>) {
    const asyncOpen = (source as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator];
    this.#sync = typeof asyncOpen !== 'function';
    this.#iterator = this.#sync
      ? (source as Iterable<unknown>)[Symbol.iterator]()
      : (source as AsyncIterable<unknown>)[Symbol.asyncIterator]();
  }

  /** Runs until the source ends (or throws: the channel then ends with that failure) or stop. */
  async run(output: Channel<unknown>, stopping: () => boolean): Promise<void> {
    try {
      while ((await output.waitForRoom()) && !stopping()) {
        const result = await this.#pull();
        if (result === kClosed) return;
        if (result.done) {
          this.#finished = true;
          output.end();
          return;
        }
        const value: unknown = this.#sync ? await result.value : result.value;
        if (stopping() || !(await output.put(value))) return;
      }
    } catch (error) {
      output.end({ error });
    }
  }

  async #pull(): Promise<IteratorResult<unknown> | typeof kClosed> {
    this.#pulling = true;
    try {
      return await Promise.race([this.#iterator.next(), this.#closed]);
    } catch (error) {
      // A source whose next() threw is done; one that yielded a rejected promise is not,
      // and is ended by close() like any other.
      this.#finished = true;
      throw error;
    } finally {
      this.#pulling = false;
    }
  }

  /**
   * Ends a source that has not finished by itself (its `finally` blocks run), as `break` in a
   * `for await` over it would; rejects with what its `return()` throws. A source caught inside
   * `next()` is waited for at most `kStuckSourceGraceMs`; its `return()` still runs later, once
   * that `next()` settles.
   */
  async close(): Promise<void> {
    this.#markClosed(kClosed);
    if (this.#finished) return;
    this.#finished = true;
    const returned = Promise.resolve(this.#iterator.return?.());
    if (this.#pulling) await settledWithin(returned, kStuckSourceGraceMs);
    else await returned;
  }
}

/** Waits for `promise` (rejecting as it does) at most `ms`; after that, ignores it. */
async function settledWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: LongTimeout | undefined;
  const expired = new Promise<void>((resolve) => {
    // Only a bound on a wait someone else keeps alive: never a reason for the process to stay.
    timer = setLongTimeout(resolve, ms).unref();
  });
  promise.catch(() => undefined);
  try {
    await Promise.race([promise, expired]);
  } finally {
    timer?.clear();
  }
}
