/**
 * Serves a pool worker's calls, in order (see InOrderRunner), loading each function the first
 * time a call names it.
 */
import { KeelError } from '../errors.js';
import type { CallMessage, FunctionSource } from '../protocol/messages.js';
import { releaseReceived, receivedArgs } from './boot-context.js';
import { InOrderRunner, type PostAnswer } from './in-order-runner.js';
import type { ModuleLoader } from './module-loader.js';

type AnyFunction = (...args: unknown[]) => unknown;

interface FunctionEntry {
  fn: AnyFunction | undefined;
  readonly loading: Promise<AnyFunction>;
  readonly shipped: boolean;
}

export class CallServer {
  readonly #loader: ModuleLoader;
  readonly #runner: InOrderRunner;
  readonly #functions = new Map<number, FunctionEntry>();

  constructor(loader: ModuleLoader, post: PostAnswer) {
    this.#loader = loader;
    // Pool functions are stateless: what they return by reference is theirs no more.
    this.#runner = new InOrderRunner(post, { handOverResults: true });
  }

  /** Starts a call; returns a promise while answers are still being computed (see whenIdle). */
  accept(call: CallMessage): Promise<void> | undefined {
    if (call.source) this.#define(call.fn, call.source);
    const entry = this.#functions.get(call.fn);
    let args: unknown[] | undefined;
    this.#runner.push({
      id: call.id,
      run: () => {
        if (!entry) throw new KeelError('ERR_NOT_FOUND', `unknown function id ${call.fn}`);
        const received = receivedArgs(call.args, call);
        args = received;
        if (entry.fn) return entry.fn(...received);
        return entry.loading.then((fn) => fn(...received));
      },
      // A pool function is stateless: the arena space of its arguments returns as soon as it
      // answered, instead of waiting for this thread's next major garbage collection (which
      // could let the arena fill and calls fall back to copying). docs/pool.md states it.
      ...(call.packed
        ? {
            finish: () => {
              releaseReceived(args);
            },
          }
        : {}),
      ...(entry?.shipped ? { explain: explainMissingIdentifier } : {}),
    });
    return this.#runner.whenIdle();
  }

  #define(id: number, source: FunctionSource): void {
    const loading = this.#loader.load(source);
    const entry: FunctionEntry = { fn: undefined, loading, shipped: source.kind === 'source' };
    this.#functions.set(id, entry);
    loading.then(
      (fn) => {
        entry.fn = fn;
      },
      () => undefined,
    );
  }
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
