/**
 * The messages that cross between a caller and a keel worker, as data only. Both sides import
 * these types; neither puts logic here.
 */
import type { SerializedThrown } from '../errors.js';
import type { SchedulingReport, SchedulingRequest } from '../platform/scheduling.js';

/** Where the function a call runs comes from. */
export type FunctionSource =
  /** A named export of a module, by URL (`file:` href). */
  | { readonly kind: 'export'; readonly module: string; readonly name: string }
  /** A self-contained function shipped as source text (asyncify's function form). */
  | { readonly kind: 'source'; readonly source: string };

/**
 * How a value was prepared for crossing: `packed`, it is an arena envelope; `handles`, it may
 * hold cloned SharedObject handles to revive (its sender's thread has made handles).
 */
export interface ValueMarks {
  readonly packed?: true;
  readonly handles?: true;
}

/** Caller -> worker: run a function. `source` is sent the first time a worker sees `fn`. */
export interface CallMessage extends ValueMarks {
  readonly type: 'call';
  readonly id: number;
  readonly fn: number;
  readonly source?: FunctionSource;
  readonly args: readonly unknown[];
}

export type ToPoolWorker = CallMessage;

/** Worker -> caller: the worker booted and serves calls. */
export interface ReadyMessage {
  readonly type: 'ready';
}

/** Worker -> caller: a call returned. `runUs` is the time spent in the function, as the worker saw it. */
export interface ResultMessage extends ValueMarks {
  readonly type: 'result';
  readonly id: number;
  readonly value: unknown;
  readonly runUs: number;
}

/** Worker -> caller: a call threw (or its result could not cross). */
export interface ErrorMessage {
  readonly type: 'error';
  readonly id: number;
  readonly error: SerializedThrown;
  readonly runUs: number;
}

export type FromPoolWorker = ReadyMessage | ResultMessage | ErrorMessage;

/** Caller -> remote: build the object (the factory's result, or the module namespace). */
export interface StartRemoteMessage {
  readonly type: 'start';
  readonly module: string;
  readonly factory: string | undefined;
  readonly args: readonly unknown[];
}

/** Caller -> remote: call a method, or read an attribute. */
export interface InvokeMessage extends ValueMarks {
  readonly type: 'invoke';
  readonly id: number;
  readonly kind: 'call' | 'get';
  readonly name: string;
  readonly args: readonly unknown[];
}

/** Caller -> remote: no calls are pending; dispose of the object and exit. */
export interface CloseRemoteMessage {
  readonly type: 'close';
}

export type ToRemote = StartRemoteMessage | InvokeMessage | CloseRemoteMessage;

/** Remote -> caller: the object exists and serves calls. */
export interface StartedMessage {
  readonly type: 'started';
}

/** Remote -> caller: loading the module or running the factory failed. */
export interface StartFailedMessage {
  readonly type: 'start-failed';
  readonly error: SerializedThrown;
}

export type FromRemote =
  ReadyMessage | StartedMessage | StartFailedMessage | ResultMessage | ErrorMessage;

/** A hook the worker installs before importing user modules (e.g. tsx for TypeScript). */
export interface LoaderHook {
  readonly kind: 'tsx';
  /** URL of the module whose `register()` installs the hook. */
  readonly url: string;
}

/** What a keel worker gets at boot (workerData for threads, an init message for processes). */
export interface WorkerBootData {
  readonly keel: 1;
  readonly role: 'pool' | 'remote' | 'loop' | 'stream';
  readonly loaderHooks: readonly LoaderHook[];
  /** The arena this worker shares with its caller (the data of `arena.share()`). */
  readonly arena?: unknown;
  /** The scheduling class and CPUs to apply to the worker's thread before anything else. */
  readonly scheduling?: SchedulingRequest;
}

/**
 * Worker -> caller, whatever the role, before 'ready': what its boot applied when the caller
 * asked for a scheduling class or CPUs. transport/caller/worker-start.ts takes it off the
 * stream; the role's engine never sees it.
 */
export interface ScheduledMessage {
  readonly type: 'scheduled';
  readonly report: SchedulingReport;
}

/**
 * Worker -> caller, instead of everything else: its boot could not apply what was asked (the
 * OS refused the scheduling class); the worker exits and its start fails with this error.
 */
export interface BootFailedMessage {
  readonly type: 'boot-failed';
  readonly error: SerializedThrown;
}

export type FromWorkerBoot = ScheduledMessage | BootFailedMessage;
