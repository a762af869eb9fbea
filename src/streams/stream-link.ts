/**
 * The caller's transport to one stream worker: starting it (a thread over a fast lane, or a
 * child process) and naming why it could not start, and telling it how many items the loop has
 * taken (shared memory for a thread, `credit` messages for a process).
 */
import type { FromStreamWorker, ToStreamWorker } from '../protocol/stream-messages.js';
import { CreditWindowConsumer, createCreditWindow } from '../transport/credit-window.js';
import { KeelError } from '../errors.js';
import {
  describeExit,
  type EndpointHandlers,
  type WorkerEndpoint,
  type WorkerExit,
} from '../transport/caller/endpoint.js';
import { bootRefusal, startWorker, type StartedWorker } from '../transport/caller/worker-start.js';
import type { ArenaShared } from '../memory/arena/index.js';
import type { StreamSettings } from './stream-options.js';

/** Publishes the count of items taken; `wake` lets a producer blocked on a full buffer go on. */
export interface CreditLine {
  /** Shared memory to put in the start message, when this line uses it. */
  readonly memory: SharedArrayBuffer | undefined;
  publish(taken: number, wake: boolean): void;
}

export function startStreamEndpoint(
  settings: StreamSettings,
  arena: ArenaShared | undefined,
  handlers: EndpointHandlers<FromStreamWorker>,
): StartedWorker<ToStreamWorker> {
  return startWorker(
    {
      role: 'stream',
      kind: settings.kind,
      arena,
      resourceLimits: settings.resourceLimits,
      env: settings.env,
      execArgv: settings.execArgv,
      scheduling: settings.scheduling,
    },
    handlers,
  );
}

export function creditLine(
  kind: 'thread' | 'process',
  endpoint: WorkerEndpoint<ToStreamWorker>,
): CreditLine {
  return kind === 'thread' ? new SharedCreditLine() : new MessageCreditLine(endpoint);
}

class SharedCreditLine implements CreditLine {
  readonly memory = createCreditWindow();
  readonly #window = new CreditWindowConsumer(this.memory);

  publish(taken: number, wake: boolean): void {
    this.#window.publish(taken, wake);
  }
}

/** A process learns the count only when woken: one IPC message per batch. */
class MessageCreditLine implements CreditLine {
  readonly memory = undefined;
  readonly #endpoint: WorkerEndpoint<ToStreamWorker>;
  #posted = 0;

  constructor(endpoint: WorkerEndpoint<ToStreamWorker>) {
    this.#endpoint = endpoint;
  }

  publish(taken: number, wake: boolean): void {
    if (!wake || taken === this.#posted) return;
    this.#posted = taken;
    try {
      this.#endpoint.post({ type: 'credit', taken });
    } catch {
      // The child is gone; its exit is reported separately.
    }
  }
}

/** A worker that could not be created at all: Node's error (or keel's) as the cause. */
export function startFailure(kind: 'thread' | 'process', error: unknown): KeelError {
  if (error instanceof KeelError && error.code === 'ERR_START_FAILED') return error;
  const message = error instanceof Error ? error.message : String(error);
  return new KeelError(
    'ERR_START_FAILED',
    `the stream's worker ${kind} could not be started: ${message}`,
    { cause: error },
  );
}

/**
 * A worker that exited before it was ready; a child's stderr says why (a bad flag, say). A
 * refused scheduling class is its own error (ERR_PERMISSION), reported as is.
 */
export function exitedBeforeBoot(kind: 'thread' | 'process', exit: WorkerExit): KeelError {
  const refusal = bootRefusal(exit);
  if (refusal) return refusal;
  const stderr = exit.stderr?.trim();
  return new KeelError(
    'ERR_START_FAILED',
    `the stream's worker ${kind} ${describeExit(exit)} before it started` +
      (stderr ? `: ${stderr}` : ''),
    { cause: exit.error },
  );
}
