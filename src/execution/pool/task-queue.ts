/**
 * The pool's waiting room: highest priority first, first in first out within a priority.
 * Tasks that leave early (aborted while queued) are skipped lazily instead of searched for.
 */

export interface QueueEntry {
  readonly priority: number;
  /** True once the task left the queue some other way; the queue then drops it unseen. */
  readonly settled: boolean;
}

class Fifo<T> {
  #items: T[] = [];
  #head = 0;

  get size(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  unshift(item: T): void {
    if (this.#head > 0) this.#items[--this.#head] = item;
    else this.#items.unshift(item);
  }

  peek(): T | undefined {
    return this.#items[this.#head];
  }

  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head]!;
    this.#items[this.#head++] = undefined as T;
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }
}

export class TaskQueue<T extends QueueEntry> {
  /** Buckets ordered by descending priority; almost always exactly one. */
  readonly #buckets: { priority: number; fifo: Fifo<T> }[] = [];
  #live = 0;

  /** Tasks waiting, not counting those that already left. */
  get size(): number {
    return this.#live;
  }

  push(task: T): void {
    this.#bucketFor(task.priority).push(task);
    this.#live++;
  }

  /** Puts a task back at the front of its priority (a task whose worker died before it ran). */
  pushFront(task: T): void {
    this.#bucketFor(task.priority).unshift(task);
    this.#live++;
  }

  /** The next task to run, without removing it. */
  peek(): T | undefined {
    return this.#firstLiveBucket()?.fifo.peek();
  }

  shift(): T | undefined {
    const bucket = this.#firstLiveBucket();
    if (!bucket) return undefined;
    const task = bucket.fifo.shift();
    this.#live--;
    // Priorities in use come and go; dropping empty buckets keeps the list short.
    if (bucket.fifo.size === 0 && this.#buckets.length > 1) {
      this.#buckets.splice(this.#buckets.indexOf(bucket), 1);
    }
    return task;
  }

  #firstLiveBucket(): { priority: number; fifo: Fifo<T> } | undefined {
    for (const bucket of this.#buckets) {
      let task = bucket.fifo.peek();
      while (task?.settled) {
        bucket.fifo.shift();
        task = bucket.fifo.peek();
      }
      if (task) return bucket;
    }
    return undefined;
  }

  /** Records that a queued task left on its own (abort); it is dropped when reached. */
  forget(): void {
    this.#live--;
  }

  /** Removes and returns every task still waiting. */
  drain(): T[] {
    const tasks: T[] = [];
    for (let task = this.shift(); task; task = this.shift()) tasks.push(task);
    return tasks;
  }

  #bucketFor(priority: number): Fifo<T> {
    let index = 0;
    while (index < this.#buckets.length && this.#buckets[index]!.priority > priority) index++;
    const found = this.#buckets[index];
    if (found?.priority === priority) return found.fifo;
    const fifo = new Fifo<T>();
    this.#buckets.splice(index, 0, { priority, fifo });
    return fifo;
  }
}
