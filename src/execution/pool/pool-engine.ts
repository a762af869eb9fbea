/**
 * The pool's engine: places tasks on threads, reacts to results and deaths, closes.
 *
 * Placement: an idle thread first; else a new thread while below maxThreads; else, for tasks
 * known to be short, the thread with the least expected backlog, as long as that backlog stays
 * under kPipelineBudgetUs. Sending short tasks ahead keeps both sides busy instead of waking
 * each other for every task (the per-task cost that dominates tiny-task throughput), while a
 * long or unknown task never waits behind another one.
 * Threads start a few at a time (start-gate.ts), so that a burst never blocks the event loop.
 */
import { CrossedError, KeelError } from '../../errors.js';
import { isCloneFailure, notCloneableError } from '../../values/crossing.js';
import { Histogram } from '../../metrics/histogram.js';
import type { CallMessage, FromPoolWorker, FunctionSource } from '../../protocol/messages.js';
import { setLongTimeout } from '../../timers/long-timeout.js';
import {
  describeExit,
  describeStartExit,
  type WorkerExit,
} from '../../transport/caller/endpoint.js';
import { bootRefusal } from '../../transport/caller/worker-start.js';
import type { SchedulingReport } from '../../platform/scheduling.js';
import { closeOwnedArena } from '../arena-option.js';
import { deferred } from '../deferred.js';
import { PoolWorker, startPoolWorker } from './pool-worker.js';
import { StartGate, sameFailure } from './start-gate.js';
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
  /** Resolved once a close may end the threads: nothing queued or running, or forced. */
  readonly #drained = deferred<undefined>();
  /** The one shutdown every close() call returns, whatever their order and kind. */
  #closed: Promise<void> | undefined;
  readonly #starts = new StartGate();

  /** Never throws for a thread that cannot start: the first run that needs one rejects. */
  constructor(settings: PoolSettings) {
    this.#settings = settings;
    this.#startIdleThreads();
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
    const placement = this.#queue.size === 0 ? this.#placement(task) : undefined;
    if (placement) {
      this.#place(task, placement);
      return task.promise;
    }
    // Threads not started yet (start slots are few) will take tasks: those do not fill the queue.
    const unstarted = Math.max(0, this.#settings.maxThreads - this.#liveCount());
    if (this.#queue.size >= this.#settings.maxQueue + unstarted) {
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

  /** What the OS applied to each live thread that has booted (none when nothing was asked). */
  scheduling(): SchedulingReport[] {
    const reports: SchedulingReport[] = [];
    for (const worker of this.#workers) {
      const report = worker.exiting ? undefined : worker.endpoint.scheduling;
      if (report) reports.push(report);
    }
    return reports;
  }

  /**
   * Idempotent: every call, graceful or forced, in any order, returns the same shutdown, which
   * settles once the threads have exited. A forced call also ends a graceful one still waiting.
   */
  close(force: boolean): Promise<void> {
    if (force && this.#closing !== 'force') this.#rejectEverything();
    else if (this.#closing === 'open') this.#closing = 'graceful';
    this.#closed ??= this.#shutDown();
    this.#checkDrained();
    return this.#closed;
  }

  #rejectEverything(): void {
    this.#closing = 'force';
    const closed = () =>
      new KeelError('ERR_CLOSED', 'the pool was closed with force before the task finished');
    for (const task of this.#queue.drain()) task.reject(closed());
    for (const worker of this.#workers) for (const task of worker.inFlight) task.reject(closed());
    this.#drained.resolve(undefined);
  }

  async #shutDown(): Promise<void> {
    await this.#drained.promise;
    // No thread starts once closing and drained (#replenish), so this list is the last one.
    await Promise.all(this.#workers.map((worker) => this.#retire(worker)));
    closeOwnedArena(this.#settings);
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
      const placement = this.#placement(task);
      if (!placement) break;
      // Off the queue before it can settle: the queue drops settled tasks as already counted out.
      this.#queue.shift();
      this.#place(task, placement);
    }
    this.#checkDrained();
  }

  /** The thread that can take the task now, why none can start, or undefined: it waits. */
  #placement(task: Task): PoolWorker | KeelError | undefined {
    try {
      return this.#pickWorker(task);
    } catch (error) {
      return this.#starts.fail(error);
    }
  }

  #place(task: Task, placement: PoolWorker | KeelError): void {
    if (placement instanceof KeelError) this.#startFailed(placement, [task]);
    else this.#send(task, placement);
  }

  #pickWorker(task: Task): PoolWorker | undefined {
    let starting: PoolWorker | undefined;
    let live = 0;
    let startingCount = 0;
    for (const worker of this.#workers) {
      if (worker.exiting) continue;
      live++;
      if (!worker.ready) startingCount++;
      if (!worker.idle) continue;
      if (worker.ready) return worker;
      starting ??= worker;
    }
    if (starting) return starting;
    if (live < this.#settings.maxThreads && startingCount < this.#starts.slots(live)) {
      return this.#startWorker();
    }
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
    try {
      // Packing throws too (the pool's arena was closed): the task must settle either way.
      const { message, transfer } = this.#callMessage(task, worker);
      worker.endpoint.post(message, transfer);
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

  #callMessage(
    task: Task,
    worker: PoolWorker,
  ): { message: CallMessage; transfer: ArrayBuffer[] | undefined } {
    const source = worker.knownFunctions.has(task.fnId)
      ? {}
      : { source: this.#functionSources[task.fnId]! };
    const packed = worker.binaries.pack(task.args);
    task.claim = packed.claim;
    const args = packed.value as readonly unknown[];
    const message: CallMessage = {
      type: 'call',
      id: task.id,
      fn: task.fnId,
      ...source,
      ...packed.marks,
      args,
    };
    return { message, transfer: packed.transfer };
  }

  #markBusy(worker: PoolWorker): void {
    worker.idleTimer?.clear();
    worker.idleTimer = undefined;
    worker.endpoint.ref();
  }

  #markIdle(worker: PoolWorker): void {
    worker.exclusive = false;
    worker.backlogUs = 0;
    worker.endpoint.unref();
    if (this.#closing !== 'open' || this.#liveCount() <= this.#settings.minThreads) return;
    // A long timer: setTimeout turns 2^31 ms or more into 1 ms (idle threads ended at once);
    // Infinity arms nothing and the thread stays. Unref'd: an idle thread never keeps the
    // process alive.
    worker.idleTimer = setLongTimeout(() => {
      if (worker.idle && this.#liveCount() > this.#settings.minThreads) void this.#retire(worker);
    }, this.#settings.idleTimeoutMs).unref();
  }

  // Threads ---------------------------------------------------------------------------------

  /** Throws when the thread cannot even be created (a bad execArgv, no memory). */
  #startWorker(): PoolWorker {
    const worker = startPoolWorker(this.#settings, {
      onMessage: (message) => {
        this.#onMessage(worker, message);
      },
      onExit: (exit) => {
        this.#onExit(worker, exit);
      },
    });
    this.#workers.push(worker);
    return worker;
  }

  /** Starts threads up to minThreads, no more at once than the start slots allow. */
  #startIdleThreads(): void {
    if (this.#closing !== 'open' || this.#starts.failed) return;
    try {
      while (
        this.#liveCount() < this.#settings.minThreads &&
        this.#startingCount() < this.#starts.slots(this.#liveCount())
      ) {
        this.#startWorker();
      }
    } catch (error) {
      // No task waits for this thread: the next run that needs one tries again and reports it.
      this.#starts.fail(error);
    }
  }

  /**
   * A thread could not start (its tasks never began). With threads alive, the tasks wait for
   * them: a failed start costs them time, not their result. With none, they fail with the cause,
   * and so do the queued tasks, rather than each starting (and failing) a thread of its own, or
   * waiting for a thread that will never come.
   */
  #startFailed(failure: KeelError, tasks: readonly Task[]): void {
    if (this.#liveCount() > 0) {
      this.#requeue(tasks);
      return;
    }
    for (const task of tasks) task.reject(sameFailure(failure));
    for (const task of this.#queue.drain()) task.reject(sameFailure(failure));
  }

  #onMessage(worker: PoolWorker, message: FromPoolWorker): void {
    if (message.type === 'ready') {
      worker.ready = true;
      this.#starts.online();
      for (const task of worker.inFlight) task.startTimer();
      // A start slot is free: queued tasks first, then threads up to minThreads.
      this.#replenish();
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
    const index = this.#workers.indexOf(worker);
    if (index !== -1) this.#workers.splice(index, 1);
    worker.idleTimer?.clear();
    const lost = worker.inFlight.splice(0);
    this.#releaseArenaOf(worker, lost);
    const orphans = lost.filter((task) => !task.settled);
    if (worker.killedFor || worker.exiting) {
      this.#requeue(orphans);
    } else if (!worker.ready) {
      // A child that Node refused to boot says why only on its stderr, which the message
      // carries; a refused scheduling class (ERR_PERMISSION) is reported as such.
      const failure = this.#starts.fail(
        bootRefusal(exit) ??
          new KeelError(
            'ERR_START_FAILED',
            describeStartExit(`pool ${this.#settings.kind}`, exit, false),
            { cause: exit.error },
          ),
      );
      this.#startFailed(failure, orphans);
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
    this.#pump();
    this.#startIdleThreads();
  }

  #retire(worker: PoolWorker): Promise<WorkerExit> {
    if (!worker.exiting) {
      worker.exiting = true;
      worker.idleTimer?.clear();
      // Until it is gone, it keeps the process alive: close() settles only once the workers
      // exited, and an unref'd child's exit is never seen if the event loop ends first.
      worker.endpoint.ref();
      void worker.endpoint.terminate();
    }
    return worker.exited;
  }

  #liveCount(): number {
    let live = 0;
    for (const worker of this.#workers) if (!worker.exiting) live++;
    return live;
  }

  #startingCount(): number {
    let starting = 0;
    for (const worker of this.#workers) if (worker.starting) starting++;
    return starting;
  }

  #checkDrained(): void {
    if (this.#closing === 'open' || this.#queue.size > 0) return;
    if (this.#workers.every((worker) => worker.idle)) this.#drained.resolve(undefined);
  }
}

function closedError(): KeelError {
  return new KeelError('ERR_CLOSED', 'the pool is closed or closing');
}
