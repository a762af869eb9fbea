/**
 * The caller's record of one pool worker (a thread or a child process): how it starts, what it
 * is running, what it knows, how it ends.
 */
import type { CallMessage, FromPoolWorker } from '../../protocol/messages.js';
import type { LongTimeout } from '../../timers/long-timeout.js';
import type { EndpointHandlers, WorkerExit } from '../../transport/caller/endpoint.js';
import {
  startWorker,
  type StartedWorker,
  type WorkerStart,
} from '../../transport/caller/worker-start.js';
import { BinaryLink } from '../binary-link.js';
import type { PoolSettings } from './pool-options.js';
import type { Task } from './task.js';

/**
 * Starts one pool worker. Throws (and holds nothing) when the thread or child cannot even be
 * created; one that fails while booting exits before its 'ready' message instead.
 */
export function startPoolWorker(
  settings: PoolSettings,
  handlers: EndpointHandlers<FromPoolWorker>,
): PoolWorker {
  const { binaries, start } = workerStart(settings);
  const worker = new PoolWorker(binaries);
  try {
    worker.endpoint = startWorker<FromPoolWorker, CallMessage>(start, handlers);
  } catch (error) {
    // The arena handle made for this worker would otherwise stay taken for good.
    binaries.reclaim();
    throw error;
  }
  // Idle workers never keep the process alive; a task refs its worker while it runs.
  worker.endpoint.unref();
  return worker;
}

/**
 * What one pool worker is started with, and how values cross to it: threads and child processes
 * alike share the pool's arena (a child maps its memory at fork, worker-start.ts; the options
 * checked that the native layer is there, checkProcessArena).
 */
function workerStart(settings: PoolSettings): {
  readonly binaries: BinaryLink;
  readonly start: WorkerStart;
} {
  const binaries = new BinaryLink(settings.arena, settings.kind);
  const start: WorkerStart = {
    role: 'pool',
    kind: settings.kind,
    arena: binaries.share,
    resourceLimits: settings.resourceLimits,
    env: settings.env,
    execArgv: settings.execArgv,
    scheduling: settings.scheduling,
  };
  return { binaries, start };
}

export class PoolWorker {
  endpoint!: StartedWorker<CallMessage>;
  /** Sent and unanswered, oldest first: the first one is running (the worker runs in order). */
  readonly inFlight: Task[] = [];
  /** Function ids whose source this worker already received. */
  readonly knownFunctions = new Set<number>();
  ready = false;
  /** Leaving the pool (retired, killed or closing): it takes no new work. */
  exiting = false;
  /** The task whose abort or timeout made the pool kill this worker. */
  killedFor: Task | undefined;
  /** Sum of the expected run times of the in-flight tasks (µs); Infinity when unknown. */
  backlogUs = 0;
  /** Running a task that may be killed: nothing may queue behind it. */
  exclusive = false;
  /** Ends this thread after idleTimeoutMs without work; never keeps the process alive. */
  idleTimer: LongTimeout | undefined;
  /** How values cross to this thread (its arena handle). */
  readonly binaries: BinaryLink;
  readonly exited: Promise<WorkerExit>;
  #markExited!: (exit: WorkerExit) => void;

  constructor(binaries: BinaryLink) {
    this.binaries = binaries;
    this.exited = new Promise((resolve) => {
      this.#markExited = resolve;
    });
  }

  get idle(): boolean {
    return this.inFlight.length === 0;
  }

  /** Started, not yet ready, and not on its way out: it holds one of the pool's start slots. */
  get starting(): boolean {
    return !this.ready && !this.exiting;
  }

  /** Takes the answered task off the in-flight list (normally the oldest). */
  take(message: FromPoolWorker & { id: number }): Task | undefined {
    const first = this.inFlight[0];
    if (first?.id === message.id) return this.inFlight.shift();
    const index = this.inFlight.findIndex((task) => task.id === message.id);
    return index === -1 ? undefined : this.inFlight.splice(index, 1)[0];
  }

  markExited(exit: WorkerExit): void {
    this.#markExited(exit);
  }
}
