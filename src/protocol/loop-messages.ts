/**
 * The messages between a caller and a keel worker that runs a RealtimeLoop (`role: 'loop'`), as
 * data only. Stopping needs no message: the caller flips the state word in the shared memory,
 * which also wakes the worker from its sleep, and the worker exits.
 */
import type { SerializedThrown } from '../errors.js';
import type { ReadyMessage } from './messages.js';

/** Caller -> loop worker: load `name` of `module` (and its optional `setup`), then tick. */
export interface StartLoopMessage {
  readonly type: 'start-loop';
  readonly module: string;
  readonly name: string;
  readonly periodMs: number;
  /** How long before each deadline the worker stops sleeping and spins. */
  readonly spinMs: number;
  /** The loop's LoopStatsMemory: state word, counters, lateness histogram. */
  readonly memory: SharedArrayBuffer;
}

export type ToLoopWorker = StartLoopMessage;

/** Loop worker -> caller: the module loaded, `setup` returned, the first tick is scheduled. */
export interface LoopStartedMessage {
  readonly type: 'loop-started';
}

/** Loop worker -> caller: loading the module or running `setup` failed; the worker exits. */
export interface LoopStartFailedMessage {
  readonly type: 'loop-start-failed';
  readonly error: SerializedThrown;
}

/** Loop worker -> caller: a tick threw or rejected; the loop stopped and the worker exits. */
export interface LoopFailedMessage {
  readonly type: 'loop-failed';
  readonly error: SerializedThrown;
}

export type FromLoopWorker =
  ReadyMessage | LoopStartedMessage | LoopStartFailedMessage | LoopFailedMessage;
