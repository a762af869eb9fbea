/**
 * The engine of `RealtimeLoop.inWorker`: starts a keel worker with role 'loop', hands it the
 * shared memory its statistics live in, and turns every way the worker can end into a settled
 * start, an onError report or a stop() result. The tick itself runs on the worker (see
 * src/worker/loop-server.ts), untouched by this thread's work and garbage collection.
 */
import { KeelError, deserializeError } from '../errors.js';
import type { FromLoopWorker, ToLoopWorker } from '../protocol/loop-messages.js';
import {
  describeExit,
  type EndpointHandlers,
  type WorkerExit,
} from '../transport/caller/endpoint.js';
import { bootRefusal, startWorker, type StartedWorker } from '../transport/caller/worker-start.js';
import type { SchedulingReport, SchedulingRequest } from '../platform/scheduling.js';
import { reportFailure, withinMs, type LoopEngine } from './loop-engine.js';
import { LoopStatsMemory, type RealtimeLoopStats } from '../memory/loop-stats.js';
import type { LoopSettings } from './options.js';
import { deferred } from '../execution/deferred.js';
import { setLongTimeout } from '../timers/long-timeout.js';

type State = 'starting' | 'running' | 'stopped' | 'failed';

export class WorkerLoopEngine implements LoopEngine {
  readonly #settings: LoopSettings;
  readonly #memory = LoopStatsMemory.allocate(true);
  readonly #endpoint: StartedWorker<ToLoopWorker>;
  readonly #started = deferred<undefined>();
  readonly #exited = deferred<WorkerExit>();
  #state: State = 'starting';
  #stopRequested = false;
  #failure: { readonly error: unknown } | undefined;

  constructor(
    settings: LoopSettings,
    module: string,
    name: string,
    scheduling: SchedulingRequest | undefined,
  ) {
    this.#settings = settings;
    this.#endpoint = startLoopThread(scheduling, {
      onMessage: (message) => {
        this.#onMessage(message);
      },
      onExit: (exit) => {
        this.#onExit(exit);
      },
    });
    const { periodMs, spinMs } = settings;
    try {
      this.#endpoint.post({
        type: 'start-loop',
        module,
        name,
        periodMs,
        spinMs,
        memory: this.#memory.buffer as SharedArrayBuffer,
      });
    } catch (error) {
      // Never expected (strings, numbers and shared memory always cross), but a thread must
      // not outlive a start that threw.
      void this.#endpoint.terminate();
      throw startFailed('the loop worker could not be given its module', error);
    }
  }

  /**
   * Resolves once the module loaded, setup() returned and the loop ticks; rejects otherwise, or
   * with ERR_TIMEOUT after `startTimeoutMs` (Infinity: no limit), the worker then terminated.
   */
  async started(startTimeoutMs: number): Promise<void> {
    const timer = setLongTimeout(() => {
      this.#failStart(
        new KeelError(
          'ERR_TIMEOUT',
          `the loop worker did not start within startTimeoutMs (${startTimeoutMs} ms)`,
        ),
      );
    }, startTimeoutMs);
    try {
      await this.#started.promise;
    } finally {
      timer.clear();
    }
  }

  get running(): boolean {
    return this.#state === 'running' && !this.#stopRequested;
  }

  start(): void {
    if (this.#state !== 'running' || this.#stopRequested) {
      throw new KeelError('ERR_CLOSED', 'the loop was stopped; start a new one with inWorker()');
    }
  }

  stats(): RealtimeLoopStats {
    return this.#memory.read();
  }

  async stop(timeoutMs: number): Promise<void> {
    if (!this.#stopRequested) {
      this.#stopRequested = true;
      // Wakes the worker's sleep; it leaves the loop after its current tick and exits.
      this.#memory.requestStop();
      this.#endpoint.ref();
    }
    await withinMs(this.#exited.promise, timeoutMs, 'the running tick', async () => {
      await this.#endpoint.terminate();
    });
    if (this.#failure) throw this.#failure.error;
  }

  scheduling(): SchedulingReport | undefined {
    return this.#endpoint.scheduling;
  }

  setRef(ref: boolean): void {
    if (ref) this.#endpoint.ref();
    else this.#endpoint.unref();
  }

  #onMessage(message: FromLoopWorker): void {
    switch (message.type) {
      case 'ready':
        return;
      case 'loop-started':
        // Too late when the start already failed (timed out): the worker is being terminated.
        if (this.#state !== 'starting') return;
        this.#state = 'running';
        this.#started.resolve(undefined);
        return;
      case 'loop-start-failed':
        this.#failStart(startError(deserializeError(message.error)));
        return;
      case 'loop-failed':
        this.#fail(deserializeError(message.error));
        return;
    }
  }

  #onExit(exit: WorkerExit): void {
    if (this.#state === 'starting') {
      // A refused scheduling class (ERR_PERMISSION) is reported as such.
      this.#failStart(
        bootRefusal(exit) ??
          new KeelError(
            'ERR_START_FAILED',
            `the loop worker ${describeExit(exit)} while starting`,
            { cause: exit.error },
          ),
      );
    } else if (this.#state === 'running' && !this.#stopRequested) {
      this.#fail(
        new KeelError('ERR_WORKER_EXITED', `the loop worker ${describeExit(exit)}`, {
          cause: exit.error,
        }),
      );
    } else if (this.#state === 'running') this.#state = 'stopped';
    this.#exited.resolve(exit);
  }

  #failStart(error: unknown): void {
    if (this.#state !== 'starting') return;
    this.#state = 'failed';
    this.#started.reject(error);
    void this.#endpoint.terminate();
  }

  #fail(error: unknown): void {
    if (this.#state !== 'running') return;
    this.#state = 'failed';
    this.#failure = { error };
    reportFailure(error, this.#settings.onError, this.#stopRequested);
  }
}

/**
 * Starts the thread the loop runs on. Any failure to start it (Node refusing its options, no
 * memory for another thread) is ERR_START_FAILED with Node's error as the cause, thrown here so
 * that inWorker rejects with it.
 */
function startLoopThread(
  scheduling: SchedulingRequest | undefined,
  handlers: EndpointHandlers<FromLoopWorker>,
): StartedWorker<ToLoopWorker> {
  try {
    return startWorker<FromLoopWorker, ToLoopWorker>(
      { role: 'loop', kind: 'thread', scheduling },
      handlers,
    );
  } catch (error) {
    // transport/caller/thread.ts reports a refused start as ERR_START_FAILED itself; a raw Node error is wrapped.
    if (error instanceof KeelError) throw error;
    throw startFailed('the loop worker could not start', error);
  }
}

function startFailed(what: string, cause: unknown): KeelError {
  const message = cause instanceof Error ? cause.message : String(cause);
  return new KeelError('ERR_START_FAILED', `${what}: ${message}`, { cause });
}

/** A missing module or export is reported as such; anything setup() threw is the cause. */
function startError(error: unknown): unknown {
  if (
    error instanceof KeelError &&
    (error.code === 'ERR_NOT_FOUND' || error.code === 'ERR_START_FAILED')
  ) {
    return error;
  }
  const message = error instanceof Error ? error.message : String(error);
  return new KeelError('ERR_START_FAILED', `the loop module's setup() failed: ${message}`, {
    cause: error,
  });
}
