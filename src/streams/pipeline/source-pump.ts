/**
 * The source of a run: pulls the user's iterable or async iterable into the first channel,
 * only when that channel has room, so the source never runs more than `buffer` items ahead of
 * the first stage.
 */
import type { Channel } from './channel.js';

type AnyIterator = Iterator<unknown> | AsyncIterator<unknown>;

export class SourcePump {
  readonly #iterator: AnyIterator;
  /** Sync iterators yield promises as values; they are awaited, as `for await` does. */
  readonly #sync: boolean;
  #finished = false;

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

  async #pull(): Promise<IteratorResult<unknown>> {
    try {
      return await this.#iterator.next();
    } catch (error) {
      // A source whose next() threw is done; one that yielded a rejected promise is not,
      // and is ended by close() like any other.
      this.#finished = true;
      throw error;
    }
  }

  /**
   * Ends a source that has not finished by itself (its `finally` blocks run), as `break` in a
   * `for await` over it would; rejects with what its `return()` throws.
   */
  async close(): Promise<void> {
    if (this.#finished) return;
    this.#finished = true;
    await this.#iterator.return?.();
  }
}
