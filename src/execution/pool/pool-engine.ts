/**
 * The pool's engine: places tasks on threads, reacts to results and deaths, closes.
 *
 * Placement: an idle thread first; else a new thread while below maxThreads; else, for tasks
 * known to be short, the thread with the least expected backlog, as long as that backlog stays
 * under kPipelineBudgetUs. Sending short tasks ahead keeps both sides busy instead of waking
 * each other for every task (the per-task cost that dominates tiny-task throughput), while a
 * long or unknown task never waits behind another one.
 */
import { CrossedError, KeelError } from '../../errors.js';
import { BinaryLink } from '../binary-link.js';
import { isCloneFailure, notCloneableError } from '../../codec/crossing.js';
import { Histogram } from '../../metrics/histogram.js';
import type {
  CallMessage,
  FromPoolWorker,
  FunctionSource,
  WorkerBootData,
} from '../../protocol/messages.js';
import { describeExit, type WorkerExit } from '../../transport/endpoint.js';
import { loaderHooksForWorkers } from '../../transport/loader-hooks.js';
import { startLaneThread } from '../../transport/lane-thread.js';
import { PoolWorker } from './pool-worker.js';
import { Task, type TaskOptions, type TaskOwner } from './task.js';
import { TaskQueue } from './task-queue.js';
import type { PoolSettings, PoolStats } from './pool-options.js';

/** How much expected work (µs) a short task may wait behind on a busy thread. */
const kPipelineBudgetUs = 250;
/** What a call costs a worker beyond the function itself (receive, post), in µs. */
const kCallOverheadUs = 4;
/** Weight of the newest sample in a function's running estimate. */
const kEstimateWeight = 0.2;

export class PoolEngine implements TaskOwner {
  readonly #settings: PoolSettings;
  readonly #workers: PoolWorker[] = [];
  readonly #queue = new TaskQueue<Task>();
  readonly #functionIds = new Map<string, number>();
  readonly #functionSources: FunctionSource[] = [];
  /** Expected µs per call of each function; Infinity until one call came back. */
  readonly #estimatesUs: number[] = [];
  readonly #runTimeUs = new Histogram();
  readonly #waitTimeUs = new Histogram();
  #nextTaskId = 1;
  #completed = 0;
  #failed = 0;
  #closing: 'open' | 'graceful' | 'force' = 'open';
  #drained: (() => void) | undefined;

  constructor(settings: PoolSettings) {
    this.#settings = settings;
    for (let index = 0; index < settings.minThreads; index++) this.#startWorker();
  }

  run(
    key: string,
    source: FunctionSource,
    args: readonly unknown[],
    options: TaskOptions,
  ): Promise<unknown> {
    if (this.#closing !== 'open') return Promise.reject(closedError());
    // Like Node's own APIs, an aborted call rejects with whatever the signal's reason is.
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
    if (options.signal?.aborted) return Promise.reject(options.signal.reason);
    const task = new Task(this.#nextTaskId++, this.#functionId(key, source), args, options, this);
    if (this.#queue.size === 0 && this.#tryPlace(task)) return task.promise;
    if (this.#queue.size >= this.#settings.maxQueue) {
      task.reject(
        new KeelError(
          'ERR_QUEUE_FULL',
          `the pool queue is full (maxQueue ${this.#settings.maxQueue})`,
        ),
      );
    } else {
      this.#queue.push(task);
      this.#pump();
    }
    return task.promise;
  }

  stats(): PoolStats {
    const live = this.#workers.filter((worker) => !worker.exiting);
    return {
      threads: live.length,
      busy: live.filter((worker) => !worker.idle).length,
      queued: this.#queue.size,
      completed: this.#completed,
      failed: this.#failed,
      runTimeMs: this.#runTimeUs.summary(1e-3),
      waitTimeMs: this.#waitTimeUs.summary(1e-3),
    };
  }

  async close(force: boolean): Promise<void> {
    if (force) {
      this.#closing = 'force';
      const closed = () =>
        new KeelError('ERR_CLOSED', 'the pool was closed with force before the task finished');
      for (const task of this.#queue.drain()) task.reject(closed());
      for (const worker of this.#workers) for (const task of worker.inFlight) task.reject(closed());
    } else {
      if (this.#closing === 'open') this.#closing = 'graceful';
      if (!this.#isDrained()) await new Promise<void>((resolve) => (this.#drained = resolve));
    }
    const exits = this.#workers.map((worker) => this.#retire(worker));
    await Promise.all(exits);
    if (this.#settings.ownsArena) this.#settings.arena?.close();
    // A graceful close still waiting when a forced one took over is done now too.
    this.#drained?.();
    this.#drained = undefined;
  }

  // TaskOwner -------------------------------------------------------------------------------

  onQueuedAbort(): void {
    this.#queue.forget();
    this.#checkDrained();
  }

  onRunningCancel(task: Task): void {
    const worker = task.assignedTo as PoolWorker;
    if (worker.exiting) return;
    worker.killedFor = task;
    void this.#retire(worker);
    this.#pump();
  }

  onSettled(_task: Task, ok: boolean): void {
    if (ok) this.#completed++;
    else this.#failed++;
  }

  // Placement -------------------------------------------------------------------------------

  #functionId(key: string, source: FunctionSource): number {
    let id = this.#functionIds.get(key);
    if (id === undefined) {
      id = this.#functionSources.length;
      this.#functionIds.set(key, id);
      this.#functionSources.push(source);
      this.#estimatesUs.push(Infinity);
    }
    return id;
  }

  #pump(): void {
    for (let task = this.#queue.peek(); task; task = this.#queue.peek()) {
      if (!this.#tryPlace(task)) return;
      this.#queue.shift();
    }
    this.#checkDrained();
  }

  /** Sends the task to a thread if one can take it now; false leaves it where it was. */
  #tryPlace(task: Task): boolean {
    let worker: PoolWorker | undefined;
    try {
      worker = this.#pickWorker(task);
    } catch (error) {
      task.reject(
        new KeelError('ERR_START_FAILED', 'could not start a worker thread', { cause: error }),
      );
      return true;
    }
    if (!worker) return false;
    this.#send(task, worker);
    return true;
  }

  #pickWorker(task: Task): PoolWorker | undefined {
    let starting: PoolWorker | undefined;
    let live = 0;
    for (const worker of this.#workers) {
      if (worker.exiting) continue;
      live++;
      if (!worker.idle) continue;
      if (worker.ready) return worker;
      starting ??= worker;
    }
    if (starting) return starting;
    if (live < this.#settings.maxThreads) return this.#startWorker();
    if (task.exclusive) return undefined;
    return this.#leastBacklogged(this.#estimatesUs[task.fnId]!);
  }

  #leastBacklogged(estimateUs: number): PoolWorker | undefined {
    if (estimateUs === Infinity) return undefined;
    let best: PoolWorker | undefined;
    for (const worker of this.#workers) {
      if (worker.exiting || worker.exclusive) continue;
      if (worker.backlogUs + estimateUs > kPipelineBudgetUs) continue;
      if (!best || worker.backlogUs < best.backlogUs) best = worker;
    }
    return best;
  }

  #send(task: Task, worker: PoolWorker): void {
    const message = this.#callMessage(task, worker);
    try {
      worker.endpoint.post(message);
    } catch (error) {
      worker.binaries.discard(task.claim);
      task.claim = undefined;
      task.reject(isCloneFailure(error) ? notCloneableError(task.args, 'args', error) : error);
      return;
    }
    worker.knownFunctions.add(task.fnId);
    task.assignedTo = worker;
    task.estimateUs = this.#estimatesUs[task.fnId]!;
    worker.backlogUs += task.estimateUs;
    if (worker.idle) this.#markBusy(worker);
    worker.inFlight.push(task);
    if (task.exclusive) {
      worker.exclusive = true;
      if (worker.ready) task.startTimer();
    }
  }

  #callMessage(task: Task, worker: PoolWorker): CallMessage {
    const source = worker.knownFunctions.has(task.fnId)
      ? {}
      : { source: this.#functionSources[task.fnId]! };
    const packed = worker.binaries.pack(task.args);
    task.claim = packed.claim;
    const args = packed.value as readonly unknown[];
    return { type: 'call', id: task.id, fn: task.fnId, ...source, ...packed.marks, args };
  }

  #markBusy(worker: PoolWorker): void {
    if (worker.idleTimer) clearTimeout(worker.idleTimer);
    worker.idleTimer = undefined;
    worker.endpoint.ref();
  }

  #markIdle(worker: PoolWorker): void {
    worker.exclusive = false;
    worker.backlogUs = 0;
    worker.endpoint.unref();
    if (this.#closing !== 'open' || this.#liveCount() <= this.#settings.minThreads) return;
    worker.idleTimer = setTimeout(() => {
      if (worker.idle && this.#liveCount() > this.#settings.minThreads) void this.#retire(worker);
    }, this.#settings.idleTimeoutMs);
    worker.idleTimer.unref();
  }

  // Threads ---------------------------------------------------------------------------------

  #startWorker(): PoolWorker {
    const worker = new PoolWorker(new BinaryLink(this.#settings.arena));
    const arenaShare = worker.binaries.share;
    const bootData: WorkerBootData = {
      keel: 1,
      role: 'pool',
      loaderHooks: loaderHooksForWorkers(),
      ...(arenaShare ? { arena: arenaShare } : {}),
    };
    worker.endpoint = startLaneThread<FromPoolWorker, CallMessage>(
      {
        bootData,
        resourceLimits: this.#settings.resourceLimits,
        env: this.#settings.env,
        execArgv: this.#settings.execArgv,
        name: 'keel-pool',
      },
      {
        onMessage: (message) => {
          this.#onMessage(worker, message);
        },
        onExit: (exit) => {
          this.#onExit(worker, exit);
        },
      },
    );
    worker.endpoint.unref();
    this.#workers.push(worker);
    return worker;
  }

  #onMessage(worker: PoolWorker, message: FromPoolWorker): void {
    if (message.type === 'ready') {
      worker.ready = true;
      for (const task of worker.inFlight) task.startTimer();
      this.#pump();
      return;
    }
    const task = worker.take(message);
    if (!task) return;
    worker.backlogUs -= task.estimateUs;
    this.#learn(task, message.runUs);
    task.claim = undefined;
    if (message.type === 'result') task.resolve(worker.binaries.received(message));
    else task.reject(new CrossedError(message.error));
    if (worker.idle) this.#markIdle(worker);
    this.#pump();
  }

  #learn(task: Task, runUs: number): void {
    const sampleUs = runUs + kCallOverheadUs;
    const previous = this.#estimatesUs[task.fnId]!;
    this.#estimatesUs[task.fnId] =
      previous === Infinity ? sampleUs : previous + kEstimateWeight * (sampleUs - previous);
    this.#runTimeUs.record(runUs);
    this.#waitTimeUs.record(Math.max(0, (performance.now() - task.submittedAt) * 1000 - runUs));
  }

  #onExit(worker: PoolWorker, exit: WorkerExit): void {
    this.#workers.splice(this.#workers.indexOf(worker), 1);
    if (worker.idleTimer) clearTimeout(worker.idleTimer);
    const lost = worker.inFlight.splice(0);
    this.#releaseArenaOf(worker, lost);
    const orphans = lost.filter((task) => !task.settled);
    if (worker.killedFor || worker.exiting) {
      this.#requeue(orphans);
    } else if (!worker.ready) {
      for (const task of orphans) {
        task.reject(
          new KeelError(
            'ERR_START_FAILED',
            `a pool worker failed to start: it ${describeExit(exit)}`,
            {
              cause: exit.error,
            },
          ),
        );
      }
    } else {
      const [running, ...waiting] = orphans;
      running?.reject(
        new KeelError('ERR_WORKER_EXITED', `the worker running this task ${describeExit(exit)}`, {
          cause: exit.error,
        }),
      );
      this.#requeue(waiting);
    }
    worker.markExited(exit);
    this.#replenish();
  }

  /** A dead thread's arena space: what it held, and arguments it never received. */
  #releaseArenaOf(worker: PoolWorker, tasks: readonly Task[]): void {
    for (const task of tasks) worker.binaries.discard(task.claim);
    worker.binaries.reclaim();
  }

  #requeue(tasks: readonly Task[]): void {
    for (let index = tasks.length - 1; index >= 0; index--) {
      const task = tasks[index]!;
      task.assignedTo = undefined;
      this.#queue.pushFront(task);
    }
  }

  #replenish(): void {
    if (this.#closing === 'force') return;
    if (this.#closing === 'open') {
      try {
        while (this.#liveCount() < this.#settings.minThreads) this.#startWorker();
      } catch {
        // A worker that cannot start now is retried on the next call, which reports the cause.
      }
    }
    this.#pump();
  }

  #retire(worker: PoolWorker): Promise<WorkerExit> {
    if (!worker.exiting) {
      worker.exiting = true;
      if (worker.idleTimer) clearTimeout(worker.idleTimer);
      void worker.endpoint.terminate();
    }
    return worker.exited;
  }

  #liveCount(): number {
    let live = 0;
    for (const worker of this.#workers) if (!worker.exiting) live++;
    return live;
  }

  #isDrained(): boolean {
    return this.#queue.size === 0 && this.#workers.every((worker) => worker.idle);
  }

  #checkDrained(): void {
    if (this.#drained && this.#isDrained()) {
      this.#drained();
      this.#drained = undefined;
    }
  }
}

function closedError(): KeelError {
  return new KeelError('ERR_CLOSED', 'the pool is closed or closing');
}
