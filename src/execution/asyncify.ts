/**
 * `asyncify`: a blocking function turned into an async one that runs on a worker thread.
 */
import { KeelError, atCallSite, invalidArgument } from '../errors.js';
import type { ModuleRef } from './module-ref.js';
import { Pool, kRunSource, type AsyncFunction } from './pool/pool.js';

/** An asyncified function: runs in a worker; `.sync` is the original, on the calling thread. */
export type Asyncified<F> = AsyncFunction<F> & { readonly sync: F };

export interface AsyncifyOptions {
  /** The pool to run on. Default: a shared pool created on first use. */
  readonly pool?: Pool;
}

let sharedPool: Pool | undefined;

/** The pool asyncify uses when none is given; its idle threads never keep the process alive. */
function defaultPool(): Pool {
  sharedPool ??= new Pool();
  return sharedPool;
}

/**
 * Function form: ships the function's source to a worker. The function must be self-contained
 * (no variables of its surrounding scope); using one fails with ERR_NOT_CLONEABLE naming it.
 *
 * @example
 * const square = asyncify((x: number) => x * x);
 * await square(7);   // 49, computed on a worker thread
 * square.sync(7);    // 49, on this thread
 */
export function asyncify<F extends (...args: never[]) => unknown>(
  fn: F,
  options?: AsyncifyOptions,
): Asyncified<F>;
/**
 * Module form: an export of a module, run on a pool, typed from the module.
 *
 * @example
 * const act = asyncify<typeof import('./policy.js'), 'getAction'>(policyUrl, 'getAction');
 * const action = await act(observation);
 */
export function asyncify<M, K extends keyof M & string>(
  moduleRef: ModuleRef,
  exportName: K,
  options?: AsyncifyOptions,
): AsyncFunction<M[K]>;
export function asyncify(
  target: ((...args: never[]) => unknown) | ModuleRef,
  second?: string | AsyncifyOptions,
  third?: AsyncifyOptions,
): unknown {
  if (typeof target === 'function') return asyncifyFunction(target, checkOptions(second));
  if (typeof second !== 'string') throw invalidArgument('exportName', 'a string', second);
  const options = checkOptions(third);
  const exportName = second;
  return (...args: unknown[]) => (options.pool ?? defaultPool()).run(target, exportName, args);
}

function asyncifyFunction(fn: (...args: never[]) => unknown, options: AsyncifyOptions): unknown {
  const source = shippableSource(fn);
  const run = async (...args: unknown[]): Promise<unknown> => {
    try {
      return await (options.pool ?? defaultPool())[kRunSource](source, args);
    } catch (error) {
      throw atCallSite(error, run);
    }
  };
  Object.defineProperty(run, 'name', { value: fn.name });
  Object.defineProperty(run, 'sync', { value: fn, enumerable: true });
  return run;
}

function shippableSource(fn: (...args: never[]) => unknown): string {
  const source = Function.prototype.toString.call(fn);
  if (/\{\s*\[native code\]\s*\}\s*$/.test(source)) {
    throw new KeelError(
      'ERR_NOT_CLONEABLE',
      `asyncify cannot ship ${fn.name || 'this function'}: it is native or bound, so it has no source; ` +
        'wrap it in a self-contained function expression',
    );
  }
  try {
    // Compiles without running: a method shorthand (`name() {}`) is not an expression.
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- a syntax check, never called
    new Function(`return (${source});`);
  } catch (error) {
    throw new KeelError(
      'ERR_NOT_CLONEABLE',
      `asyncify cannot ship ${fn.name || 'this function'}: its source is not a standalone function ` +
        'expression (object or class methods are not); use a function expression or an arrow function',
      { cause: error },
    );
  }
  return source;
}

function checkOptions(options: unknown): AsyncifyOptions {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null)
    throw invalidArgument('options', 'an object', options);
  const pool = (options as AsyncifyOptions).pool;
  if (pool !== undefined && !(pool instanceof Pool))
    throw invalidArgument('options.pool', 'a Pool', pool);
  return options;
}
