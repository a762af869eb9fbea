/**
 * Runs jobs one at a time, in arrival order, awaiting a job that returns a promise before the
 * next one starts, and answers each. Pool workers and remotes both serve calls this way: the
 * caller then knows that its oldest unanswered call is the one running.
 */
import { serializeError } from '../errors.js';
import { isCloneFailure, notCloneableError } from '../values/crossing.js';
import type { ErrorMessage, ResultMessage } from '../protocol/messages.js';
import { discardPacked, handOver, packForCaller } from './boot-context.js';

export interface Job {
  readonly id: number;
  /** Runs the job; a thenable result is awaited before the next job starts. */
  run(): unknown;
  /** Rewrites a failure before it is reported (e.g. a shipped function's ReferenceError). */
  explain?(error: unknown): unknown;
  /** Runs once the answer was posted (the job's arguments may go then). */
  finish?(): void;
}

export interface InOrderRunnerOptions {
  /**
   * Results are handed over once posted (see boot-context `handOver`): true for stateless pool
   * functions; false for a remote, whose object may keep what it returns.
   */
  readonly handOverResults: boolean;
}

/** Posts an answer; `transfer`: the buffers of a moved result (values/move.ts). */
export type PostAnswer = (
  message: ResultMessage | ErrorMessage,
  transfer?: readonly ArrayBuffer[],
) => void;

export class InOrderRunner {
  readonly #post: PostAnswer;
  readonly #handOverResults: boolean;
  readonly #queue: Job[] = [];
  #head = 0;
  #busy = false;
  #idle: { promise: Promise<void>; resolve: () => void } | undefined;

  constructor(post: PostAnswer, options: InOrderRunnerOptions) {
    this.#post = post;
    this.#handOverResults = options.handOverResults;
  }

  /** True while a job runs or waits. */
  get busy(): boolean {
    return this.#busy;
  }

  push(job: Job): void {
    this.#queue.push(job);
    if (!this.#busy) this.#drain();
  }

  /** Resolves once every job pushed so far has been answered; undefined when none is left. */
  whenIdle(): Promise<void> | undefined {
    if (!this.#busy) return undefined;
    if (!this.#idle) {
      let resolve!: () => void;
      const promise = new Promise<void>((settle) => {
        resolve = settle;
      });
      this.#idle = { promise, resolve };
    }
    return this.#idle.promise;
  }

  /** Runs queued jobs synchronously for as long as they complete synchronously. */
  #drain(): void {
    this.#busy = true;
    while (this.#head < this.#queue.length) {
      const job = this.#queue[this.#head]!;
      this.#queue[this.#head++] = undefined as unknown as Job;
      const pending = this.#start(job);
      if (pending) {
        void pending.then(() => {
          this.#drain();
        });
        return;
      }
    }
    this.#queue.length = 0;
    this.#head = 0;
    this.#busy = false;
    const idle = this.#idle;
    this.#idle = undefined;
    idle?.resolve();
  }

  #start(job: Job): Promise<void> | undefined {
    const startedAt = performance.now();
    let result: unknown;
    try {
      result = job.run();
    } catch (error) {
      this.#fail(job, error, startedAt);
      return undefined;
    }
    if (!isThenable(result)) {
      this.#succeed(job, result, startedAt);
      return undefined;
    }
    return Promise.resolve(result).then(
      (value) => {
        this.#succeed(job, value, startedAt);
      },
      (error: unknown) => {
        this.#fail(job, error, startedAt);
      },
    );
  }

  #succeed(job: Job, value: unknown, startedAt: number): void {
    const runUs = elapsedUs(startedAt);
    let packed: ReturnType<typeof packForCaller> | undefined;
    try {
      packed = packForCaller(value);
      const { value: posted, marks, transfer } = packed;
      this.#post({ type: 'result', id: job.id, value: posted, ...marks, runUs }, transfer);
    } catch (error) {
      if (packed) discardPacked(packed);
      packed = undefined;
      const reason = isCloneFailure(error) ? notCloneableError(value, 'result', error) : error;
      this.#post({ type: 'error', id: job.id, error: serializeError(reason), runUs });
    }
    if (packed && this.#handOverResults) handOver(value, packed);
    job.finish?.();
  }

  #fail(job: Job, error: unknown, startedAt: number): void {
    const reported = job.explain ? job.explain(error) : error;
    this.#post({
      type: 'error',
      id: job.id,
      error: serializeError(reported),
      runUs: elapsedUs(startedAt),
    });
    job.finish?.();
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

function elapsedUs(startedAt: number): number {
  return (performance.now() - startedAt) * 1000;
}
