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

/**
 * The priorities in use, highest on top: a binary max-heap, so that a queue where every task has
 * its own priority (`priority: Math.random()`) costs O(log n) per task. A sorted array of
 * buckets cost O(n) per new priority: 40 000 such tasks froze the event loop for 8 s.
 */
class PriorityHeap {
  readonly #items: number[] = [];

  get size(): number {
    return this.#items.length;
  }

  top(): number | undefined {
    return this.#items[0];
  }

  push(priority: number): void {
    const items = this.#items;
    let index = items.push(priority) - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (items[parent]! >= priority) break;
      items[index] = items[parent]!;
      index = parent;
    }
    items[index] = priority;
  }

  pop(): void {
    const items = this.#items;
    const last = items.pop()!;
    if (items.length === 0) return;
    let index = 0;
    for (;;) {
      let child = 2 * index + 1;
      if (child >= items.length) break;
      if (child + 1 < items.length && items[child + 1]! > items[child]!) child++;
      if (items[child]! <= last) break;
      items[index] = items[child]!;
      index = child;
    }
    items[index] = last;
  }
}

export class TaskQueue<T extends QueueEntry> {
  /** One FIFO per priority in use; almost always exactly one. */
  readonly #buckets = new Map<number, Fifo<T>>();
  readonly #priorities = new PriorityHeap();
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
    return this.#firstLiveBucket()?.peek();
  }

  shift(): T | undefined {
    const bucket = this.#firstLiveBucket();
    if (!bucket) return undefined;
    const task = bucket.shift();
    this.#live--;
    return task;
  }

  /**
   * The highest-priority FIFO with a live task at its head, after dropping the settled tasks in
   * front of it. Priorities in use come and go: an emptied FIFO is dropped unless it is the only
   * one (the common single-priority queue keeps its FIFO).
   */
  #firstLiveBucket(): Fifo<T> | undefined {
    for (let priority = this.#priorities.top(); priority !== undefined;) {
      const bucket = this.#buckets.get(priority)!;
      let task = bucket.peek();
      while (task?.settled) {
        bucket.shift();
        task = bucket.peek();
      }
      if (task) return bucket;
      if (this.#priorities.size === 1) return undefined;
      this.#buckets.delete(priority);
      this.#priorities.pop();
      priority = this.#priorities.top();
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
    let fifo = this.#buckets.get(priority);
    if (!fifo) {
      fifo = new Fifo<T>();
      this.#buckets.set(priority, fifo);
      this.#priorities.push(priority);
    }
    return fifo;
  }
}
