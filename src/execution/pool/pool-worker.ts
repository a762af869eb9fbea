/**
 * The caller's record of one pool thread: how it starts, what it is running, what it knows, how
 * it ends.
 */
import type { CallMessage, FromPoolWorker } from '../../protocol/messages.js';
import type { LongTimeout } from '../../timers/long-timeout.js';
import type {
  EndpointHandlers,
  WorkerEndpoint,
  WorkerExit,
} from '../../transport/caller/endpoint.js';
import { startWorker } from '../../transport/caller/worker-start.js';
import { BinaryLink } from '../binary-link.js';
import type { PoolSettings } from './pool-options.js';
import type { Task } from './task.js';

/**
 * Starts one pool thread. Throws (and holds nothing) when the thread cannot even be created;
 * a thread that fails while booting exits before its 'ready' message instead.
 */
export function startPoolWorker(
  settings: PoolSettings,
  handlers: EndpointHandlers<FromPoolWorker>,
): PoolWorker {
  const worker = new PoolWorker(new BinaryLink(settings.arena));
  try {
    worker.endpoint = startWorker<FromPoolWorker, CallMessage>(
      {
        role: 'pool',
        kind: 'thread',
        arena: worker.binaries.share,
        resourceLimits: settings.resourceLimits,
        env: settings.env,
        execArgv: settings.execArgv,
      },
      handlers,
    );
  } catch (error) {
    // The arena handle made for this thread would otherwise stay taken for good.
    worker.binaries.reclaim();
    throw error;
  }
  // Idle threads never keep the process alive; a task refs its thread while it runs.
  worker.endpoint.unref();
  return worker;
}

export class PoolWorker {
  endpoint!: WorkerEndpoint<CallMessage>;
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
