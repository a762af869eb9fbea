/**
 * `asyncify`: a blocking function turned into an async one that runs on a worker thread.
 */
import { KeelError, atCallSite, invalidArgument } from '../errors.js';
import { checkOptions, type OptionKeys } from '../options/known-keys.js';
import { moduleHref, type ModuleRef } from './module-ref.js';
import { Pool, kRunSource, type AsyncFunction } from './pool/pool.js';

/** An asyncified function: runs in a worker; `.sync` is the original, on the calling thread. */
export type Asyncified<F> = AsyncFunction<F> & {
  /** The original function, run on the calling thread. */
  readonly sync: F;
};

/** Options of `asyncify()`. */
export interface AsyncifyOptions {
  /** The pool to run on. Default: a shared pool created on first use. */
  readonly pool?: Pool;
}

const kAsyncifyKeys: OptionKeys<AsyncifyOptions> = { pool: true };

let sharedPool: Pool | undefined;

/** The pool asyncify uses when none is given; its idle threads never keep the process alive. */
function defaultPool(): Pool {
  sharedPool ??= new Pool();
  return sharedPool;
}

/**
 * Function form: ships the function's source to a worker. The function must be self-contained
 * (no variables of its surrounding scope); using one fails with ERR_NOT_CLONEABLE naming it.
 * Bad arguments (an unknown option key, a function without a standalone source) throw here.
 *
 * @typeParam F - the function's type: the async wrapper takes the same arguments.
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
 * Module form: an export of a module, run on a pool, typed from the module. The module reference
 * and export name are checked here (ERR_INVALID_ARGUMENT); the module itself loads on first call.
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
  if (typeof target === 'function') {
    if (third !== undefined)
      throw invalidArgument('asyncify(fn, options)', 'called with at most two arguments', third);
    return asyncifyFunction(target, checkedOptions(second));
  }
  const href = moduleHref(target);
  if (typeof second !== 'string' || second.length === 0) {
    throw invalidArgument('exportName', 'a non-empty string', second);
  }
  const options = checkedOptions(third);
  const exportName = second;
  return (...args: unknown[]) => (options.pool ?? defaultPool()).run(href, exportName, args);
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

function checkedOptions(options: unknown): AsyncifyOptions {
  checkOptions<AsyncifyOptions>('options', options, kAsyncifyKeys);
  if (options === undefined) return {};
  const pool = options.pool;
  if (pool !== undefined && !(pool instanceof Pool)) {
    throw invalidArgument('options.pool', 'a Pool', pool);
  }
  return options;
}
