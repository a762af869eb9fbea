/**
 * `Pool`: stateless functions on worker threads. The public front; `PoolEngine` does the work.
 */
import { atCallSite, invalidArgument } from '../../errors.js';
import type { FunctionSource } from '../../protocol/messages.js';
import { moduleHref, type ModuleRef } from '../module-ref.js';
import { PoolEngine } from './pool-engine.js';
import {
  checkNonNegative,
  poolSettings,
  type PoolOptions,
  type PoolStats,
  type RunOptions,
} from './pool-options.js';
import type { TaskOptions } from './task.js';

/** A function's async twin: same parameters, the awaited result in a Promise. */
export type AsyncFunction<F> = F extends (...args: infer A) => infer R
  ? (...args: A) => Promise<Awaited<R>>
  : never;

/** Every exported function of module `M`, as an async function that runs on the pool. */
export type PoolModule<M> = {
  readonly [K in keyof M as M[K] extends (...args: never[]) => unknown ? K : never]: AsyncFunction<
    M[K]
  >;
};

/** Runs a shipped function source; used by asyncify, not part of the public surface. */
export const kRunSource = Symbol('keel.runSource');

/**
 * A pool of worker threads for stateless functions addressed by module and export name.
 *
 * @example
 * const pool = new Pool({ maxThreads: 2 });
 * const y = await pool.run(new URL('./work.js', import.meta.url), 'heavy', [42], { timeoutMs: 1000 });
 * const work = pool.module<typeof import('./work.js')>(new URL('./work.js', import.meta.url));
 * await work.heavy(42);
 * await pool.close();
 */
export class Pool implements AsyncDisposable {
  readonly #engine: PoolEngine;
  readonly #hrefs = new Map<string, string>();

  /** Starts `minThreads` threads (default 1); more start on demand up to `maxThreads`. */
  constructor(options?: PoolOptions) {
    this.#engine = new PoolEngine(poolSettings(options));
  }

  /**
   * Runs `exportName` of the module with `args` on a worker thread and resolves with its (awaited)
   * result. Rejects with the function's own error, or a `KeelError`: ERR_NOT_FOUND (no such module
   * or export), ERR_START_FAILED, ERR_NOT_CLONEABLE, ERR_QUEUE_FULL, ERR_TIMEOUT,
   * ERR_WORKER_EXITED, ERR_CLOSED; an aborted call rejects with `signal.reason`.
   */
  async run<R = unknown>(
    moduleRef: ModuleRef,
    exportName: string,
    args: readonly unknown[] = [],
    options: RunOptions = {},
  ): Promise<R> {
    try {
      const href = this.#href(moduleRef);
      if (typeof exportName !== 'string' || exportName.length === 0) {
        throw invalidArgument('exportName', 'a non-empty string', exportName);
      }
      const source: FunctionSource = { kind: 'export', module: href, name: exportName };
      const key = `${href}#${exportName}`;
      return (await this.#engine.run(key, source, checkArgs(args), taskOptions(options))) as R;
    } catch (error) {
      // The method is only a marker: frames above it are the caller's.
      // eslint-disable-next-line @typescript-eslint/unbound-method
      throw atCallSite(error, this.run);
    }
  }

  /**
   * Every exported function of a module as an async function on this pool, typed from the module.
   * The object is not thenable, so it can be returned from async functions.
   */
  module<M extends object>(moduleRef: ModuleRef): PoolModule<M> {
    const href = this.#href(moduleRef);
    const functions = new Map<string, (...args: unknown[]) => Promise<unknown>>();
    return new Proxy({} as PoolModule<M>, {
      get: (_target, property) => {
        if (typeof property !== 'string' || property === 'then') return undefined;
        let fn = functions.get(property);
        if (!fn) {
          fn = (...args: unknown[]) => this.run(href, property, args);
          functions.set(property, fn);
        }
        return fn;
      },
    });
  }

  /** Threads, queue and per-task timing percentiles. */
  stats(): PoolStats {
    return this.#engine.stats();
  }

  /**
   * Graceful: waits for running and queued tasks, then ends the threads. `force`: rejects queued
   * and running tasks with ERR_CLOSED and ends the threads at once. New runs reject with ERR_CLOSED.
   */
  close(options: { readonly force?: boolean } = {}): Promise<void> {
    return this.#engine.close(options.force === true);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** @internal */
  [kRunSource](source: string, args: readonly unknown[]): Promise<unknown> {
    return this.#engine.run(
      `source:${source}`,
      { kind: 'source', source },
      checkArgs(args),
      taskOptions({}),
    );
  }

  #href(moduleRef: ModuleRef): string {
    if (typeof moduleRef !== 'string') return moduleHref(moduleRef);
    let href = this.#hrefs.get(moduleRef);
    if (href === undefined) {
      href = moduleHref(moduleRef);
      if (this.#hrefs.size < 1024) this.#hrefs.set(moduleRef, href);
    }
    return href;
  }
}

function checkArgs(args: unknown): readonly unknown[] {
  if (!Array.isArray(args)) throw invalidArgument('args', 'an array', args);
  return args;
}

function taskOptions(options: RunOptions): TaskOptions {
  if (typeof options !== 'object' || options === null)
    throw invalidArgument('options', 'an object', options);
  const { signal, timeoutMs, priority = 0 } = options;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw invalidArgument('signal', 'an AbortSignal', signal);
  }
  if (timeoutMs !== undefined) checkNonNegative('timeoutMs', timeoutMs);
  if (typeof priority !== 'number' || !Number.isFinite(priority)) {
    throw invalidArgument('priority', 'a finite number', priority);
  }
  return { signal, timeoutMs, priority };
}
