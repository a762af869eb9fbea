/**
 * The contract between the caller-side engines (Pool, spawn) and a running worker, whatever
 * carries it (a worker thread, a child process). Engines never touch the platform directly.
 */

/** How a worker ended: exit code or signal, and the uncaught error that ended it, if any. */
export interface WorkerExit {
  readonly code: number | null;
  readonly signal: string | null;
  readonly error: unknown;
}

export interface EndpointHandlers<In> {
  onMessage(message: In): void;
  /** Called once, after every message the worker sent has been delivered. */
  onExit(exit: WorkerExit): void;
}

export interface WorkerEndpoint<Out> {
  /** A stable id for diagnostics: the thread id or the process id. */
  readonly id: number;
  /** Sends a message; throws synchronously (DataCloneError) when a value cannot cross. */
  post(message: Out): void;
  /** Lets the worker keep the process alive (pending work) or not (idle). */
  ref(): void;
  unref(): void;
  /** Ends the worker at once; resolves when it is gone. */
  terminate(): Promise<void>;
  /**
   * Delivers now, synchronously, the messages that have arrived but wait to be read (shared
   * memory transports only; elsewhere messages arrive as events and this does nothing).
   */
  receivePending?(): void;
}

/** Describes an exit for messages: "exited with code 1" / "was killed by SIGKILL". */
export function describeExit(exit: WorkerExit): string {
  if (exit.signal) return `was killed by ${exit.signal}`;
  return `exited with code ${exit.code ?? 'unknown'}`;
}
