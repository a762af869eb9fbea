/**
 * `RealtimeLoop`: a fixed-rate loop with deadlines that do not drift, on the calling thread or on
 * a dedicated worker. The public front; LocalLoopEngine and WorkerLoopEngine do the work.
 */
import { atCallSite, invalidArgument, KeelError } from '../errors.js';
import { moduleHref, type ModuleRef } from '../execution/module-ref.js';
import { LocalLoopEngine } from './local-loop.js';
import type { LoopEngine } from './loop-engine.js';
import type { RealtimeLoopStats } from '../memory/loop-stats.js';
import type { SchedulingReport } from '../platform/scheduling.js';
import {
  localLoopSettings,
  stopTimeoutMs,
  workerLoopSettings,
  type RealtimeLoopOptions,
  type StopLoopOptions,
  type WorkerLoopOptions,
} from './options.js';
import { WorkerLoopEngine } from './worker-loop.js';

const kAdoptEngine = Symbol('keel.realtime.adoptEngine');

/**
 * Calls `tick(now)` at `hz` ticks per second: tick n is due at start + n / hz (no drift), and
 * runs as close after its deadline as the platform allows: a coarse sleep, then `spinUs` of
 * watching the clock. A tick whose deadline passed by a full period or more (the previous tick
 * ran long, or the thread stalled) is skipped and counted in `missed`, never run in a burst; one
 * less late than that runs at once. An async tick is awaited before the next is scheduled.
 *
 * The first error of a tick stops the loop: `onError` gets it (without onError it is an
 * uncaught exception, unless stop() was already called), and `stop()` rejects with it. A
 * running loop keeps the process alive, like an interval, until stop() (or `unref()`).
 *
 * @example
 * const loop = new RealtimeLoop({ hz: 200, tick: (now) => control(now) });
 * loop.start();
 * // ...
 * loop.stats();      // { ticks, missed, jitterUs: { p50, p99, max } }
 * await loop.stop();
 *
 * // On a dedicated worker, with a precise sleep, beside whatever this thread does:
 * const remote = await RealtimeLoop.inWorker(new URL('./control.js', import.meta.url), 'tick', { hz: 1000 });
 * await remote.stop();
 */
export class RealtimeLoop implements AsyncDisposable {
  readonly #engine: LoopEngine;

  /**
   * A loop on this thread (not started: call start()). Options: `hz` (required, > 0 and at
   * most 10000), `tick` (required), `spinUs` (default 500, at most one period: a timer sleeps
   * until 0.5 to 1.5 ms before each deadline, then setImmediate polls the clock, so the event
   * loop keeps serving I/O), `onError`. A tick that overruns its period never starves the
   * thread: the loop turns the event loop once before the next tick, and skips (counts in
   * `missed`) the deadlines that passed. Throws ERR_INVALID_ARGUMENT for bad options, unknown
   * keys included.
   */
  constructor(options: RealtimeLoopOptions) {
    const adopted = isAdoption(options) ? options[kAdoptEngine] : undefined;
    if (adopted) {
      this.#engine = adopted;
      return;
    }
    const { settings, tick } = localLoopSettings(options);
    this.#engine = new LocalLoopEngine(settings, tick);
  }

  /**
   * Runs export `exportName` (default 'tick') of a module as the tick of a loop on a dedicated
   * worker thread, which sleeps in Atomics.wait until `spinUs` (default 200) before each deadline
   * and then spins. The module may also export `setup()` (sync or async), run once before the
   * first tick. Resolves with the running loop; rejects with ERR_NOT_FOUND (module or export),
   * ERR_START_FAILED (the thread could not start, the module failed to load, setup() threw: the
   * error is the cause), ERR_TIMEOUT (not started within `startTimeoutMs`, default no limit) or
   * ERR_INVALID_ARGUMENT; it never throws synchronously. `stats()` reads shared memory the worker
   * updates: synchronous, never blocking. A crash of the worker stops the loop like a tick error,
   * with ERR_WORKER_EXITED.
   *
   * `priority` (`'realtime'`: SCHED_FIFO at `rtPriority`, default 80; `'normal'`;
   * `'background'`: SCHED_IDLE) and `cpus` are applied to the worker's thread before the module
   * loads; `scheduling()` reports what the OS applied. They need keel's native layer
   * (ERR_UNSUPPORTED without it); a class the OS refuses rejects with ERR_PERMISSION saying how
   * to grant it, unless `priorityFallback: 'normal'` (docs/realtime.md, "Scheduling").
   */
  static async inWorker(
    moduleRef: ModuleRef,
    exportName = 'tick',
    options: WorkerLoopOptions,
  ): Promise<RealtimeLoop> {
    try {
      const href = checkedModuleHref(moduleRef);
      if (typeof exportName !== 'string' || exportName.length === 0) {
        throw invalidArgument('exportName', 'a non-empty string', exportName);
      }
      const { settings, startTimeoutMs, scheduling } = workerLoopSettings(options);
      const engine = new WorkerLoopEngine(settings, href, exportName, scheduling);
      await engine.started(startTimeoutMs);
      return new RealtimeLoop({ [kAdoptEngine]: engine } as unknown as RealtimeLoopOptions);
    } catch (error) {
      // The method is only a marker: frames above it are the caller's.
      // eslint-disable-next-line @typescript-eslint/unbound-method
      throw atCallSite(error, RealtimeLoop.inWorker);
    }
  }

  /** Starts ticking (the first tick is due one period from now). Returns the loop. A no-op when running; ERR_CLOSED once stopped. */
  start(): this {
    this.#engine.start();
    return this;
  }

  /** Whether the loop is ticking: started, not stopped, not failed. */
  get running(): boolean {
    return this.#engine.running;
  }

  /**
   * Ticks run, ticks missed (skipped), and the lateness of each run tick after its deadline in
   * µs (p50, p99, max: exact to 2 %). Synchronous; also after the loop stopped.
   */
  stats(): RealtimeLoopStats {
    return this.#engine.stats();
  }

  /**
   * Stops the loop: no tick starts after this call; resolves once the running tick (if any)
   * finished and, for a worker loop, the worker exited. Rejects with the error that stopped the
   * loop, if one did; with ERR_TIMEOUT when the running tick takes longer than `timeoutMs`
   * (default 5000; Infinity: no limit; a worker is then terminated). Idempotent. Rejects with
   * ERR_INVALID_ARGUMENT (and does nothing) for options that are not `{ timeoutMs? }`.
   */
  async stop(options?: StopLoopOptions): Promise<void> {
    // Validated first: a bad argument rejects and leaves the loop running.
    await this.#engine.stop(stopTimeoutMs(options));
  }

  /**
   * What the OS applied to the loop's worker thread: policy, realtime priority, nice, CPUs, and
   * whether it fell back (`priorityFallback: 'normal'`). Undefined for a loop on the calling
   * thread and for an `inWorker` loop given neither `priority` nor `cpus`.
   *
   * @example
   * const loop = await RealtimeLoop.inWorker(url, 'tick', { hz: 1000, priority: 'realtime', cpus: [1] });
   * loop.scheduling(); // { policy: 'fifo', priority: 80, cpus: [1], fallback: false, ... }
   */
  scheduling(): SchedulingReport | undefined {
    return this.#engine.scheduling?.();
  }

  /** Lets the process exit while this loop runs (like `timeout.unref()`). Returns the loop. */
  unref(): this {
    this.#engine.setRef(false);
    return this;
  }

  /** Makes a running loop keep the process alive again (the default). Returns the loop. */
  ref(): this {
    this.#engine.setRef(true);
    return this;
  }

  /** The same as `stop()`: `await using loop = ...` stops it at scope end. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

function isAdoption(options: unknown): options is { [kAdoptEngine]: LoopEngine } {
  return typeof options === 'object' && options !== null && kAdoptEngine in options;
}

/** moduleHref, whose URL parsing may throw a TypeError for a malformed URL: ERR_INVALID_ARGUMENT. */
function checkedModuleHref(moduleRef: unknown): string {
  try {
    return moduleHref(moduleRef as ModuleRef);
  } catch (error) {
    if (error instanceof KeelError) throw error;
    throw invalidArgument('moduleRef', 'an absolute path or a file: URL', moduleRef);
  }
}
