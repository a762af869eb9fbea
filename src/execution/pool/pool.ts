/**
 * `Pool`: stateless functions on worker threads. The public front; `PoolEngine` does the work.
 */
import { atCallSite } from '../../errors.js';
import type { FunctionSource } from '../../protocol/messages.js';
import { ModuleMemo, moduleHref, type ModuleRef } from '../module-ref.js';
import { PoolEngine } from './pool-engine.js';
import { checkArgs, checkExportName, moduleProxy, refuseModuleOptions } from './module-proxy.js';
import type { SchedulingReport } from '../../platform/scheduling.js';
import {
  closeIsForced,
  poolSettings,
  taskOptions,
  type PoolCloseOptions,
  type PoolOptions,
  type PoolStats,
  type RunOptions,
} from './pool-options.js';

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
  readonly #hrefs = new ModuleMemo(moduleHref);

  /**
   * Starts `minThreads` threads (default 1); more start on demand up to `maxThreads`. Throws
   * ERR_INVALID_ARGUMENT for a bad option (an unknown key names the closest valid one). A thread
   * that cannot start (a bad `execArgv`) does not throw here: the runs that need it reject
   * with ERR_START_FAILED.
   */
  constructor(options?: PoolOptions) {
    this.#engine = new PoolEngine(poolSettings(options));
  }

  /**
   * Runs `exportName` of the module with `args` on a worker thread and resolves with its (awaited)
   * result. Rejects with the function's own error, or a `KeelError`: ERR_NOT_FOUND (no such module
   * or export), ERR_START_FAILED, ERR_NOT_CLONEABLE, ERR_QUEUE_FULL, ERR_TIMEOUT,
   * ERR_WORKER_EXITED, ERR_CLOSED, ERR_INVALID_ARGUMENT (checked before anything is queued);
   * an aborted call rejects with `signal.reason`.
   */
  async run<R = unknown>(
    moduleRef: ModuleRef,
    exportName: string,
    args: readonly unknown[] = [],
    options?: RunOptions,
  ): Promise<R> {
    try {
      const href = this.#hrefs.get(moduleRef);
      checkExportName(exportName);
      const source: FunctionSource = { kind: 'export', module: href, name: exportName };
      const key = `${href}#${exportName}`;
      const checked = taskOptions(options);
      return (await this.#engine.run(key, source, checkArgs(args), checked)) as R;
    } catch (error) {
      // The method is only a marker: frames above it are the caller's.
      // eslint-disable-next-line @typescript-eslint/unbound-method
      throw atCallSite(error, this.run);
    }
  }

  /**
   * Every exported function of a module as an async function on this pool, typed from the module.
   * The object is not thenable, so it can be returned from async functions. Throws
   * ERR_INVALID_ARGUMENT for a bad module reference, or for a second argument: per-call options
   * are `run`'s, and a silently ignored `{ timeoutMs }` here would be a trap.
   */
  module<M extends object>(moduleRef: ModuleRef): PoolModule<M> {
    // A JavaScript caller may pass what the types forbid.
    // eslint-disable-next-line prefer-rest-params
    refuseModuleOptions('pool.module(moduleRef)', Array.prototype.slice.call(arguments, 1));
    const href = this.#hrefs.get(moduleRef);
    return moduleProxy<M>((exportName, args) => this.run(href, exportName, args));
  }

  /** Threads, queue and per-task timing percentiles. */
  stats(): PoolStats {
    return this.#engine.stats();
  }

  /**
   * What the OS applied to each pool thread (a child's main thread with `kind: 'process'`) that
   * is alive and has booted, one report per thread, in start order: policy, realtime priority,
   * nice, CPUs, `tid`, and whether it fell back (`priorityFallback: 'normal'`). Empty when the
   * pool was given neither `priority` nor `cpus`, and before any thread booted. A snapshot.
   *
   * @example
   * const pool = new Pool({ maxThreads: 2, priority: 'background', cpus: [0] });
   * await pool.run(url, 'warmUp');
   * pool.scheduling(); // [{ policy: 'idle', priority: 0, nice: 0, cpus: [0], fallback: false, tid: 4251, ... }]
   */
  scheduling(): SchedulingReport[] {
    return this.#engine.scheduling();
  }

  /**
   * Graceful: waits for running and queued tasks, then ends the threads. `force`: rejects queued
   * and running tasks with ERR_CLOSED and ends the threads at once. New runs reject with ERR_CLOSED.
   * Idempotent: every call (graceful or forced, in any order) settles once the threads are gone;
   * a forced call also ends a graceful close that waits on a hung task. Rejects with
   * ERR_INVALID_ARGUMENT for bad options (and then closes nothing).
   */
  async close(options?: PoolCloseOptions): Promise<void> {
    await this.#engine.close(closeIsForced(options));
  }

  /** The same as `close()`: `await using pool = new Pool()` closes it at scope end. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** @internal */
  [kRunSource](source: string, args: readonly unknown[]): Promise<unknown> {
    return this.#engine.run(
      `source:${source}`,
      { kind: 'source', source },
      checkArgs(args),
      taskOptions(undefined),
    );
  }
}
