/**
 * The caller's record of one pool thread: what it is running, what it knows, how it ends.
 */
import type { CallMessage, FromPoolWorker } from '../../protocol/messages.js';
import type { WorkerEndpoint, WorkerExit } from '../../transport/endpoint.js';
import type { BinaryLink } from '../binary-link.js';
import type { Task } from './task.js';

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
  idleTimer: ReturnType<typeof setTimeout> | undefined;
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
