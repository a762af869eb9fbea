/**
 * `QueuePool`: keel's Pool, across machines. The public front; `QueueEngine` does the work.
 */
import { atCallSite } from '../errors.js';
import { ModuleMemo, type ModuleRef } from '../execution/module-ref.js';
import type { PoolModule } from '../execution/pool/pool.js';
import {
  checkArgs,
  checkExportName,
  moduleProxy,
  refuseModuleOptions,
} from '../execution/pool/module-proxy.js';
import { kTaskPool } from '../streams/pipeline/task.js';
import { portableModulePath } from './module-path.js';
import { encodeValue } from './payload.js';
import { QueueEngine } from './queue-engine.js';
import {
  closeIsForced,
  queuePoolSettings,
  runOptions,
  type QueueCloseOptions,
  type QueuePoolOptions,
  type QueuePoolStats,
  type QueueRunOptions,
} from './queue-options.js';

/**
 * Runs module exports on worker machines through a BullMQ queue on Redis: each machine runs
 * `keel worker` (or `serveQueue`) from the same application checkout, and its jobs on a local
 * keel `Pool`. Semantics are the Pool's: typed module proxies, errors with their class, code,
 * cause and properties, `timeoutMs` and `signal`, priorities, one answer per run. Execution is
 * at least once: a job whose worker dies runs again elsewhere (docs/queue.md).
 *
 * @example
 * import { QueuePool } from 'keel/queue';
 * const pool = new QueuePool({ connection: 'redis://redis.internal:6379', queue: 'images' });
 * const tasks = pool.module<typeof import('./tasks.js')>(new URL('./tasks.js', import.meta.url));
 * const thumbnail = await tasks.resize(jpeg, 128);
 * await pool.close();
 */
export class QueuePool implements AsyncDisposable {
  readonly #engine: QueueEngine;
  /** Each module's path relative to `root`, by name (a real path costs a file-system call). */
  readonly #portablePaths: ModuleMemo;
  readonly #maxPayloadBytes: number;

  /**
   * Checks the options; connects to Redis on the first run, not here. Throws
   * ERR_INVALID_ARGUMENT for a bad option (an unknown key names the closest valid one).
   */
  constructor(options: QueuePoolOptions) {
    const settings = queuePoolSettings(options);
    this.#portablePaths = new ModuleMemo((moduleRef) =>
      portableModulePath(moduleRef, settings.root),
    );
    this.#maxPayloadBytes = settings.maxPayloadBytes;
    this.#engine = new QueueEngine(settings);
    // Lets `task(..., { pool })` accept this pool (streams/ cannot import keel/queue).
    Object.defineProperty(this, kTaskPool, { value: true });
  }

  /**
   * Queues a job that runs `exportName` of the module with `args` on a worker, and resolves with
   * its (awaited) result. Rejects with the function's own error (its class, message, code, cause
   * and properties kept), or a `KeelError`: ERR_INVALID_ARGUMENT (checked before anything is
   * queued: a module outside `root`, arguments larger than `maxPayloadBytes`), ERR_NOT_CLONEABLE,
   * ERR_TIMEOUT, ERR_UNAVAILABLE (Redis unreachable for `connectTimeoutMs`, or lost while the
   * job was in flight), ERR_WORKER_EXITED (the job lost its worker more than `maxStalls` times),
   * ERR_NOT_FOUND, ERR_CLOSED; an aborted run rejects with `signal.reason`.
   */
  async run<R = unknown>(
    moduleRef: ModuleRef,
    exportName: string,
    args: readonly unknown[] = [],
    options?: QueueRunOptions,
  ): Promise<R> {
    try {
      const module = this.#portablePaths.get(moduleRef);
      checkExportName(exportName);
      checkArgs(args);
      const checked = runOptions(options);
      const bytes = encodeValue(args, 'args', this.#maxPayloadBytes);
      return (await this.#engine.run({ module, exportName, args: bytes }, checked)) as R;
    } catch (error) {
      // The method is only a marker: frames above it are the caller's.
      // eslint-disable-next-line @typescript-eslint/unbound-method
      throw atCallSite(error, this.run);
    }
  }

  /**
   * Every exported function of a module as an async function that runs through this queue,
   * typed from the module. Not thenable. Throws ERR_INVALID_ARGUMENT for a module outside
   * `root`, or for a second argument (per-call options are `run`'s).
   */
  module<M extends object>(moduleRef: ModuleRef): PoolModule<M> {
    // A JavaScript caller may pass what the types forbid.
    // eslint-disable-next-line prefer-rest-params
    refuseModuleOptions('queuePool.module(moduleRef)', Array.prototype.slice.call(arguments, 1));
    this.#portablePaths.get(moduleRef);
    return moduleProxy<M>((exportName, args) => this.run(moduleRef, exportName, args));
  }

  /** This caller's runs: pending, completed, failed, round-trip percentiles, connection. */
  stats(): QueuePoolStats {
    return this.#engine.stats();
  }

  /**
   * Graceful: waits for the answers of runs in flight, then closes the connections. `force`:
   * rejects them with ERR_CLOSED and withdraws their jobs first. New runs reject with
   * ERR_CLOSED. Idempotent; a forced call also ends a graceful close that still waits. After
   * it, nothing of the pool keeps the process alive.
   */
  async close(options?: QueueCloseOptions): Promise<void> {
    await this.#engine.close(closeIsForced(options));
  }

  /** The same as `close()`: `await using pool = new QueuePool(...)` closes it at scope end. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
