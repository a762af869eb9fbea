/**
 * The messages between a caller and a keel worker that runs one generator for `iterateInWorker`
 * (`role: 'stream'`), as data only.
 *
 * Flow control: the worker sends an item only while fewer than `buffer` items it sent are
 * untaken. How it learns what was taken depends on the transport: a thread reads the caller's
 * count in a shared `CreditWindow` (`credits`); a child process gets `credit` messages.
 */
import type { SerializedThrown } from '../errors.js';
import type { ReadyMessage, ValueMarks } from './messages.js';

/** Caller -> stream worker: call `name` of `module` with `args` and stream what it yields. */
export interface StartStreamMessage {
  readonly type: 'start-stream';
  readonly module: string;
  readonly name: string;
  readonly args: readonly unknown[];
  /** Most items sent and not yet taken by the consumer. */
  readonly buffer: number;
  /** Threads: the memory of the CreditWindow the caller counts taken items in. */
  readonly credits?: SharedArrayBuffer;
}

/** Caller -> stream worker (processes): the consumer has taken `taken` items in all. */
export interface StreamCreditMessage {
  readonly type: 'credit';
  readonly taken: number;
}

/** Caller -> stream worker: the consumer stopped; end the generator (its `finally` runs) and exit. */
export interface StopStreamMessage {
  readonly type: 'stop';
}

export type ToStreamWorker = StartStreamMessage | StreamCreditMessage | StopStreamMessage;

/** Stream worker -> caller: one yielded item (an arena envelope when `packed`). */
export interface StreamItemMessage extends ValueMarks {
  readonly type: 'item';
  readonly value: unknown;
}

/** Stream worker -> caller: the generator returned; the worker exits. */
export interface StreamEndMessage {
  readonly type: 'end';
}

/**
 * Stream worker -> caller: the stream failed (the module or export is missing, the export
 * threw or returned something not iterable, an item could not cross); the worker exits.
 */
export interface StreamErrorMessage {
  readonly type: 'error';
  readonly error: SerializedThrown;
}

/** Stream worker -> caller: after `stop`, the generator's `return()` finished (or threw). */
export interface StreamStoppedMessage {
  readonly type: 'stopped';
  readonly error?: SerializedThrown;
}

export type FromStreamWorker =
  ReadyMessage | StreamItemMessage | StreamEndMessage | StreamErrorMessage | StreamStoppedMessage;
