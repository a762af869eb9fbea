/**
 * The contract between the caller-side engines (Pool, spawn) and a running worker, whatever
 * carries it (a worker thread, a child process). Engines never touch the platform directly.
 */
import { describeValue } from '../../errors.js';

/** How a worker ended: exit code or signal, and the uncaught error that ended it, if any. */
export interface WorkerExit {
  readonly code: number | null;
  readonly signal: string | null;
  readonly error: unknown;
  /**
   * Child processes: the last lines the child wrote to stderr (at most a few KiB), so that a
   * child that could not even boot (a bad Node flag, a bad heap limit) explains itself in the
   * caller's ERR_START_FAILED. Undefined for threads.
   */
  readonly stderr?: string | undefined;
}

export interface EndpointHandlers<In> {
  onMessage(message: In): void;
  /** Called once, after every message the worker sent has been delivered. */
  onExit(exit: WorkerExit): void;
}

export interface WorkerEndpoint<Out> {
  /** A stable id for diagnostics: the thread id or the process id. */
  readonly id: number;
  /**
   * Sends a message; throws synchronously (DataCloneError) when a value cannot cross.
   * `transfer`: buffers to transfer rather than copy (a worker thread over its fast lane); a
   * transport that cannot transfer (a child process) copies them.
   */
  post(message: Out, transfer?: readonly ArrayBuffer[]): void;
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

/**
 * Describes a worker that ended before it finished starting, for ERR_START_FAILED: how it
 * ended, the error that ended it, and what a child process last wrote to stderr, which is all
 * there is to tell when Node itself refused to boot it ("bad option: --bogus-flag").
 * `booted`: keel's entry ran (the failure is then the user module's, not Node's).
 *
 * @example
 * // "the remote process exited with code 9 before it booted; its stderr ended with:
 * //  node: bad option: --bogus-flag"
 */
export function describeStartExit(what: string, exit: WorkerExit, booted: boolean): string {
  const when = booted ? 'while starting' : 'before it booted';
  const error =
    exit.error === undefined
      ? ''
      : `: ${exit.error instanceof Error ? exit.error.message : describeValue(exit.error)}`;
  const stderr = exit.stderr?.trim();
  return (
    `the ${what} ${describeExit(exit)} ${when}${error}` +
    (stderr ? `; its stderr ended with:\n${stderr}` : '')
  );
}
