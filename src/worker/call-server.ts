/**
 * Serves a pool worker's calls: one at a time, in arrival order, awaiting async functions
 * before the next call starts. Running calls strictly in order lets the caller know that the
 * oldest unanswered call is the one running, which is what makes requeueing safe when a worker
 * dies with pipelined calls behind the running one.
 */
import { KeelError, serializeError } from '../errors.js';
import { isCloneFailure, notCloneableError } from '../codec/crossing.js';
import type { CallMessage, FromPoolWorker, FunctionSource } from '../protocol/messages.js';
import type { ModuleLoader } from './module-loader.js';

type AnyFunction = (...args: unknown[]) => unknown;

interface LoadedFunction {
  readonly fn: AnyFunction | undefined;
  readonly loading: Promise<AnyFunction> | undefined;
  readonly shipped: boolean;
}

export class CallServer {
  readonly #loader: ModuleLoader;
  readonly #post: (message: FromPoolWorker) => void;
  readonly #functions = new Map<number, LoadedFunction>();
  readonly #queue: CallMessage[] = [];
  #head = 0;
  #busy = false;

  constructor(loader: ModuleLoader, post: (message: FromPoolWorker) => void) {
    this.#loader = loader;
    this.#post = post;
  }

  accept(call: CallMessage): void {
    if (call.source) this.#define(call.fn, call.source);
    this.#queue.push(call);
    if (!this.#busy) this.#drain();
  }

  #define(id: number, source: FunctionSource): void {
    const loading = this.#loader.load(source);
    const entry: LoadedFunction = { fn: undefined, loading, shipped: source.kind === 'source' };
    this.#functions.set(id, entry);
    loading.then(
      (fn) => this.#functions.set(id, { fn, loading: undefined, shipped: entry.shipped }),
      () => undefined,
    );
  }

  /** Runs queued calls synchronously while they complete synchronously. */
  #drain(): void {
    this.#busy = true;
    while (this.#head < this.#queue.length) {
      const call = this.#queue[this.#head++]!;
      const pending = this.#start(call);
      if (pending) {
        pending.then(
          () => {
            this.#drain();
          },
          () => {
            this.#drain();
          },
        );
        return;
      }
    }
    this.#queue.length = 0;
    this.#head = 0;
    this.#busy = false;
  }

  /** Starts one call; returns a promise only when the call must be awaited. */
  #start(call: CallMessage): Promise<void> | undefined {
    const entry = this.#functions.get(call.fn);
    if (!entry) {
      this.#fail(
        call.id,
        new KeelError('ERR_NOT_FOUND', `unknown function id ${call.fn}`),
        0,
        false,
      );
      return undefined;
    }
    if (entry.fn) return this.#invoke(call, entry.fn, entry.shipped);
    return entry.loading!.then(
      (fn) => this.#invoke(call, fn, entry.shipped),
      (error: unknown) => {
        this.#fail(call.id, error, 0, false);
      },
    );
  }

  #invoke(call: CallMessage, fn: AnyFunction, shipped: boolean): Promise<void> | undefined {
    const startedAt = performance.now();
    let result: unknown;
    try {
      result = fn(...call.args);
    } catch (error) {
      this.#fail(call.id, error, elapsedUs(startedAt), shipped);
      return undefined;
    }
    if (!isThenable(result)) {
      this.#succeed(call.id, result, elapsedUs(startedAt));
      return undefined;
    }
    return Promise.resolve(result).then(
      (value) => {
        this.#succeed(call.id, value, elapsedUs(startedAt));
      },
      (error: unknown) => {
        this.#fail(call.id, error, elapsedUs(startedAt), shipped);
      },
    );
  }

  #succeed(id: number, value: unknown, runUs: number): void {
    try {
      this.#post({ type: 'result', id, value, runUs });
    } catch (error) {
      const reason = isCloneFailure(error) ? notCloneableError(value, 'result', error) : error;
      this.#fail(id, reason, runUs, false);
    }
  }

  #fail(id: number, error: unknown, runUs: number, shipped: boolean): void {
    const reported = shipped ? explainMissingIdentifier(error) : error;
    this.#post({ type: 'error', id, error: serializeError(reported), runUs });
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

/** A shipped function that used a variable of its original scope fails with a ReferenceError. */
function explainMissingIdentifier(error: unknown): unknown {
  if (!(error instanceof ReferenceError)) return error;
  const match = /^(\S+) is not defined$/.exec(error.message);
  if (!match) return error;
  return new KeelError(
    'ERR_NOT_CLONEABLE',
    `the function must be self-contained: it uses '${match[1]}', which is not defined in the worker ` +
      '(a function given to asyncify runs in a worker thread and cannot use variables of the scope ' +
      'it was written in; pass the value as an argument, or export the function from a module and ' +
      'use asyncify(moduleRef, exportName))',
    { cause: error },
  );
}
