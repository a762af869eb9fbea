/**
 * `Channel`: the bounded queue between two parts of a running pipeline (source -> stage,
 * stage -> stage, last stage -> the consumer). Its capacity is the pipeline's `buffer`: a
 * producer that finds it full waits, which is all the backpressure a pipeline has.
 * Caller side, single thread; nothing here blocks, every wait is a promise.
 */

/** What a reader gets: an item, the end of the stream (with the error that ended it), or stop. */
export type Pulled<T> =
  | { readonly kind: 'item'; readonly value: T }
  | { readonly kind: 'end'; readonly failure: Failure | undefined }
  | { readonly kind: 'stopped' };

/** An error carried as a value, so that `throw undefined` is still told apart from no error. */
export interface Failure {
  readonly error: unknown;
}

const kStopped: Pulled<never> = { kind: 'stopped' };
const kAccepted = Promise.resolve(true);
const kRefused = Promise.resolve(false);

export class Channel<T> {
  readonly #capacity: number;
  readonly #items: T[] = [];
  #end: { readonly failure: Failure | undefined } | undefined;
  #stopped = false;
  /** Readers waiting for an item, the end, or stop. */
  readonly #readers: ((pulled: Pulled<T>) => void)[] = [];
  /** Writers waiting for room; resolved with false once stopped. */
  readonly #writers: ((room: boolean) => void)[] = [];

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  /** Items waiting to be read. */
  get size(): number {
    return this.#items.length;
  }

  /** Resolves true once the channel has room for one more item, false if it was stopped. */
  waitForRoom(): Promise<boolean> {
    if (this.#stopped) return Promise.resolve(false);
    if (this.#items.length < this.#capacity) return Promise.resolve(true);
    return new Promise((resolve) => this.#writers.push(resolve));
  }

  /** Waits for room, then adds the item; false (item dropped) if the channel was stopped. */
  put(value: T): Promise<boolean> {
    // The common case, room at once, costs no extra turn of the microtask queue.
    if (this.#stopped) return kRefused;
    if (this.#items.length < this.#capacity) {
      this.#add(value);
      return kAccepted;
    }
    return this.#putWhenRoom(value);
  }

  async #putWhenRoom(value: T): Promise<boolean> {
    // Stopped while waiting for the continuation: the room found is no longer there.
    if (!(await this.waitForRoom()) || this.#stopped) return false;
    this.#add(value);
    return true;
  }

  #add(value: T): void {
    const reader = this.#readers.shift();
    if (reader) reader({ kind: 'item', value });
    else this.#items.push(value);
  }

  /** No more items after those waiting; readers then get `end` (with `failure`, if any). */
  end(failure?: Failure): void {
    if (this.#end || this.#stopped) return;
    this.#end = { failure };
    if (this.#items.length === 0) this.#flushReaders();
  }

  /** The next item, in order; then the end; `stopped` once `stop()` was called. */
  get(): Promise<Pulled<T>> {
    if (this.#stopped) return Promise.resolve(kStopped);
    if (this.#items.length > 0) {
      const value = this.#items.shift() as T;
      this.#writers.shift()?.(true);
      return Promise.resolve({ kind: 'item', value });
    }
    if (this.#end) return Promise.resolve({ kind: 'end', failure: this.#end.failure });
    return new Promise((resolve) => this.#readers.push(resolve));
  }

  /** Drops waiting items and wakes every waiting reader and writer: the pipeline is stopping. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#items.length = 0;
    for (const reader of this.#readers.splice(0)) reader(kStopped);
    for (const writer of this.#writers.splice(0)) writer(false);
  }

  #flushReaders(): void {
    const end = this.#end;
    if (!end) return;
    for (const reader of this.#readers.splice(0)) reader({ kind: 'end', failure: end.failure });
  }
}
