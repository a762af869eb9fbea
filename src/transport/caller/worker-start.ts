/**
 * Starting a keel worker, whatever its role: the boot data it gets (`WorkerBootData`) and the
 * transport that reaches it (a thread over a fast lane, a thread over its port, or a child
 * process). The one place Pool, spawn, iterateInWorker and RealtimeLoop.inWorker start workers.
 */
import { deserializeError, KeelError } from '../../errors.js';
import type { SchedulingReport, SchedulingRequest } from '../../platform/scheduling.js';
import type { FromWorkerBoot, WorkerBootData } from '../../protocol/messages.js';
import type { EndpointHandlers, WorkerEndpoint, WorkerExit } from './endpoint.js';
import { startLaneThread } from './lane-thread.js';
import { loaderHooksForWorkers } from './loader-hooks.js';
import { startProcess } from './process.js';
import { startThread, type ResourceLimits } from './thread.js';
import { workerExecArgv } from '../../options/worker-exec-argv.js';

export type WorkerRole = WorkerBootData['role'];

/** What to start. The role decides the rest (the thread's name, how the caller reaches it). */
export interface WorkerStart {
  readonly role: WorkerRole;
  /**
   * A thread, or a child process (every role but `loop`): over a fast lane in shared memory
   * when keel's native layer is loaded, over its IPC channel otherwise.
   */
  readonly kind: 'thread' | 'process';
  /**
   * The arena the worker shares with its caller (the data of `arena.share()`). A child process
   * maps its memory (handed over at fork): without the native layer, starting it throws
   * `KeelError` ERR_UNSUPPORTED.
   */
  readonly arena?: unknown;
  /** Threads only: a child process takes its heap limit as a flag in `execArgv`. */
  readonly resourceLimits?: ResourceLimits | undefined;
  readonly env?: Readonly<Record<string, string | undefined>> | undefined;
  /**
   * Node flags, used as given; a flag that cannot apply to a worker (`-e`, `--input-type`,
   * `--test`, ...) among them is ERR_START_FAILED. Absent: the caller's, without those flags.
   */
  readonly execArgv?: readonly string[] | undefined;
  /**
   * The scheduling class and CPUs the worker applies to its thread (a child: its main thread)
   * before anything else. A refusal ends the worker: its exit carries the error (`bootRefusal`).
   */
  readonly scheduling?: SchedulingRequest | undefined;
}

/** A started keel worker: its endpoint, and what its boot reported. */
export interface StartedWorker<Out> extends WorkerEndpoint<Out> {
  /**
   * What the OS applied to the worker's thread, once its boot said so (before its 'ready');
   * undefined until then, and when no scheduling was asked for.
   */
  readonly scheduling: SchedulingReport | undefined;
}

/** How each role's thread is reached from its caller. */
const kThreadChannels: Readonly<
  Record<WorkerRole, { readonly lane: boolean; readonly callerSpinUs?: number }>
> = {
  pool: { lane: true },
  remote: { lane: true },
  // Items wait in a buffer: a wait for one is long or rare, and spinning for it would only
  // spend this thread's CPU, so the caller parks at once.
  stream: { lane: true, callerSpinUs: 0 },
  // A loop exchanges a start and a stop: its thread's port is enough, and nothing spins.
  loop: { lane: false },
};

/** What a keel worker of `role` gets at boot. */
export function workerBootData(
  role: WorkerRole,
  arena: unknown,
  scheduling?: SchedulingRequest,
): WorkerBootData {
  return {
    keel: 1,
    role,
    loaderHooks: loaderHooksForWorkers(),
    ...(arena ? { arena } : {}),
    ...(scheduling ? { scheduling } : {}),
  };
}

/** The errors boots reported before exiting (see `bootRefusal`). */
const refusals = new WeakSet<object>();

/**
 * The error a worker's boot failed with (ERR_PERMISSION: the OS refused its scheduling class),
 * when that is how it ended: an engine fails the start with it as is, not as ERR_START_FAILED.
 */
export function bootRefusal(exit: WorkerExit): KeelError | undefined {
  const { error } = exit;
  return error instanceof KeelError && refusals.has(error) ? error : undefined;
}

/**
 * Starts one keel worker. Throws `KeelError` ERR_START_FAILED (Node's error as `cause`) when
 * the platform refuses to start it at all; a worker that starts and then fails reports it as
 * its exit, through `handlers`.
 */
export function startWorker<In, Out>(
  start: WorkerStart,
  handlers: EndpointHandlers<In>,
): StartedWorker<Out> {
  const boot = new BootReports<In>(handlers);
  const endpoint = startEndpoint<In, Out>(start, boot.handlers);
  return {
    ...endpoint,
    get scheduling() {
      return boot.scheduling;
    },
  };
}

function startEndpoint<In, Out>(
  start: WorkerStart,
  handlers: EndpointHandlers<In>,
): WorkerEndpoint<Out> {
  const bootData = workerBootData(start.role, start.arena, start.scheduling);
  const execArgv = workerExecArgv(start.kind, start.execArgv);
  const common = { bootData, env: start.env, execArgv };
  if (start.kind === 'process') {
    // A child is reached the way its role's thread is: over a lane when its thread has one.
    const { lane, callerSpinUs } = kThreadChannels[start.role];
    return startProcess<In, Out>(lane ? { ...common, lane: { callerSpinUs } } : common, handlers);
  }
  const thread = { ...common, resourceLimits: start.resourceLimits, name: `keel-${start.role}` };
  const { lane, callerSpinUs } = kThreadChannels[start.role];
  if (!lane) return startThread<In, Out>(thread, handlers);
  return startLaneThread<In, Out>(
    callerSpinUs === undefined ? thread : { ...thread, callerSpinUs },
    handlers,
  );
}

/**
 * Takes a boot's own messages ('scheduled', 'boot-failed') off a worker's stream before its
 * role's engine sees it, and hands a boot failure to the engine as the exit's error.
 */
class BootReports<In> {
  scheduling: SchedulingReport | undefined;
  #refusal: KeelError | undefined;
  /**
   * Until the role's first message: a boot speaks only before the role does, so later
   * messages (every call's answer) go straight through, unexamined.
   */
  #booting = true;
  readonly handlers: EndpointHandlers<In>;

  constructor(inner: EndpointHandlers<In>) {
    this.handlers = {
      onMessage: (message) => {
        if (this.#booting && this.#take(message)) return;
        this.#booting = false;
        inner.onMessage(message);
      },
      onExit: (exit) => {
        inner.onExit(this.#refusal ? { ...exit, error: this.#refusal } : exit);
      },
    };
  }

  /** True when `message` was the boot's own. */
  #take(message: unknown): boolean {
    const boot = message as FromWorkerBoot;
    if (boot.type === 'scheduled') this.scheduling = boot.report;
    else if (boot.type === 'boot-failed') this.#refusal = asRefusal(deserializeError(boot.error));
    else return false;
    return true;
  }
}

function asRefusal(error: unknown): KeelError {
  const refusal =
    error instanceof KeelError
      ? error
      : new KeelError('ERR_START_FAILED', 'the worker failed to boot', { cause: error });
  refusals.add(refusal);
  return refusal;
}
