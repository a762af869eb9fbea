/**
 * One pool call from submission to settlement. A task settles exactly once, whatever races:
 * result, error, abort, timeout, worker death or forced close.
 */
import { KeelError, abortReason } from '../../errors.js';
import type { PackedClaim } from '../../memory/arena/transit.js';
import { setLongTimeout, type LongTimeout } from '../../timers/long-timeout.js';
import type { QueueEntry } from './task-queue.js';

export interface TaskOptions {
  readonly signal?: AbortSignal | undefined;
  /** Finite, or undefined for none (an Infinity option arrives here as undefined). */
  readonly timeoutMs?: number | undefined;
  readonly priority: number;
}

export interface TaskOwner {
  /** A queued task was aborted: it must leave the queue. */
  onQueuedAbort(task: Task): void;
  /** A running task was aborted or timed out: its worker must be replaced. */
  onRunningCancel(task: Task): void;
  onSettled(task: Task, ok: boolean): void;
}

export class Task implements QueueEntry {
  readonly id: number;
  readonly fnId: number;
  readonly args: readonly unknown[];
  readonly priority: number;
  readonly submittedAt = performance.now();
  readonly promise: Promise<unknown>;
  /** The worker it was sent to; undefined while queued. */
  assignedTo: object | undefined;
  /** Expected cost in µs when it was sent, to undo on completion. */
  estimateUs = 0;
  /** What its arguments took from the arena, given back if the worker dies first. */
  claim: PackedClaim | undefined;
  #settled = false;
  readonly #owner: TaskOwner;
  readonly #signal: AbortSignal | undefined;
  readonly #timeoutMs: number | undefined;
  #timer: LongTimeout | undefined;
  #resolve!: (value: unknown) => void;
  #reject!: (reason: unknown) => void;
  readonly #onAbort: (() => void) | undefined;

  constructor(
    id: number,
    fnId: number,
    args: readonly unknown[],
    options: TaskOptions,
    owner: TaskOwner,
  ) {
    this.id = id;
    this.fnId = fnId;
    this.args = args;
    this.priority = options.priority;
    this.#owner = owner;
    this.#signal = options.signal;
    this.#timeoutMs = options.timeoutMs === Infinity ? undefined : options.timeoutMs;
    this.promise = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    if (this.#signal) {
      this.#onAbort = () => {
        this.#cancel(abortReason(this.#signal!));
      };
      this.#signal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  get settled(): boolean {
    return this.#settled;
  }

  /** Abortable or timed tasks get a worker to themselves, so that killing it harms nobody else. */
  get exclusive(): boolean {
    return this.#signal !== undefined || this.#timeoutMs !== undefined;
  }

  /** Called when the task starts running on a ready worker. */
  startTimer(): void {
    if (this.#timeoutMs === undefined || this.#timer || this.#settled) return;
    const timeoutMs = this.#timeoutMs;
    // A long timer: setTimeout would fire a timeout of 2^31 ms or more after 1 ms.
    this.#timer = setLongTimeout(() => {
      this.#cancel(
        new KeelError(
          'ERR_TIMEOUT',
          `the task ran longer than timeoutMs (${timeoutMs} ms); its worker was terminated`,
        ),
      );
    }, timeoutMs);
  }

  resolve(value: unknown): void {
    if (this.#finish(true)) this.#resolve(value);
  }

  reject(reason: unknown): void {
    if (this.#finish(false)) this.#reject(reason);
  }

  #cancel(reason: unknown): void {
    if (this.#settled) return;
    const wasRunning = this.assignedTo !== undefined;
    this.reject(reason);
    if (wasRunning) this.#owner.onRunningCancel(this);
    else this.#owner.onQueuedAbort(this);
  }

  #finish(ok: boolean): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    this.#timer?.clear();
    if (this.#onAbort) this.#signal!.removeEventListener('abort', this.#onAbort);
    this.#owner.onSettled(this, ok);
    return true;
  }
}
