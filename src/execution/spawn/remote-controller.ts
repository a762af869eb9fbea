/**
 * The caller's side of one remote object: starts its thread or process, sends calls in order,
 * matches answers, and turns every way the far side can end into a settled promise.
 */
import { CrossedError, KeelError, deserializeError } from '../../errors.js';
import type { PackedClaim } from '../../memory/arena/index.js';
import { BinaryLink } from '../binary-link.js';
import { isCloneFailure, notCloneableError } from '../../codec/crossing.js';
import type { FromRemote, ToRemote, WorkerBootData } from '../../protocol/messages.js';
import {
  describeExit,
  type EndpointHandlers,
  type WorkerEndpoint,
  type WorkerExit,
} from '../../transport/endpoint.js';
import { loaderHooksForWorkers } from '../../transport/loader-hooks.js';
import { startProcess } from '../../transport/process.js';
import { startLaneThread } from '../../transport/lane-thread.js';
import type { SpawnSettings } from './spawn-options.js';
import { deferred } from '../deferred.js';

interface PendingCall {
  readonly resolve: (value: unknown) => void;
  readonly reject: (reason: unknown) => void;
  /** What its arguments took from the arena, given back if the remote dies first. */
  readonly claim: PackedClaim | undefined;
}

type State = 'starting' | 'ready' | 'closing' | 'closed' | 'dead';

/** How long close() lets pending calls and the object's dispose hook run before killing. */
export const kDefaultCloseTimeoutMs = 10_000;

export class RemoteController {
  readonly #settings: SpawnSettings;
  readonly #endpoint: WorkerEndpoint<ToRemote>;
  /** Unanswered calls in call order; the first one is running. */
  readonly #pending = new Map<number, PendingCall>();
  #nextId = 1;
  #state: State = 'starting';
  #deathReason = '';
  readonly #started = deferred<undefined>();
  readonly #exited = deferred<WorkerExit>();
  #headTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #binaries: BinaryLink;

  constructor(
    settings: SpawnSettings,
    module: string,
    factory: string | undefined,
    args: readonly unknown[],
  ) {
    this.#settings = settings;
    this.#binaries = new BinaryLink(settings.arena);
    this.#endpoint = startEndpoint(settings, this.#binaries.share, {
      onMessage: (message) => {
        this.#onMessage(message);
      },
      onExit: (exit) => {
        this.#onExit(exit);
      },
    });
    try {
      this.#endpoint.post({ type: 'start', module, factory, args });
    } catch (error) {
      void this.#endpoint.terminate();
      throw isCloneFailure(error) ? notCloneableError(args, 'args', error) : error;
    }
  }

  get kind(): 'thread' | 'process' {
    return this.#settings.kind;
  }

  /** Resolves once the object exists; rejects on failure, timeout, abort or exit. */
  async started(): Promise<undefined> {
    const { startTimeoutMs, signal } = this.#settings;
    const timer =
      startTimeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            this.#failStart(
              new KeelError(
                'ERR_TIMEOUT',
                `the remote did not start within startTimeoutMs (${startTimeoutMs} ms)`,
              ),
            );
          }, startTimeoutMs);
    const onAbort = () => {
      this.#failStart(
        signal?.reason ?? new DOMException('This operation was aborted', 'AbortError'),
      );
    };
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await this.#started.promise;
    } finally {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Calls a method (`call`) or reads an attribute (`get`) on the remote object. */
  invoke(kind: 'call' | 'get', name: string, args: readonly unknown[]): Promise<unknown> {
    if (this.#state === 'closing' || this.#state === 'closed') {
      return Promise.reject(new KeelError('ERR_CLOSED', 'the remote is closed or closing'));
    }
    if (this.#state === 'dead') {
      return Promise.reject(new KeelError('ERR_WORKER_EXITED', this.#deathReason));
    }
    const id = this.#nextId++;
    const packed = this.#binaries.pack(args);
    const claim = packed.claim;
    try {
      const packedArgs = packed.value as readonly unknown[];
      this.#endpoint.post({ type: 'invoke', id, kind, name, ...packed.marks, args: packedArgs });
    } catch (error) {
      this.#binaries.discard(claim);
      const reason = isCloneFailure(error) ? notCloneableError(args, 'args', error) : error;
      return Promise.reject(reason instanceof Error ? reason : new Error(String(reason)));
    }
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, claim });
      if (this.#pending.size === 1) {
        this.#endpoint.ref();
        this.#armHeadTimer();
      }
    });
  }

  /** Lets pending calls finish, disposes the object, ends the worker; kills it after timeoutMs. */
  async close(timeoutMs = kDefaultCloseTimeoutMs): Promise<void> {
    if (this.#state === 'ready') {
      this.#state = 'closing';
      this.#endpoint.ref();
      if (this.#pending.size === 0) this.#endpoint.post({ type: 'close' });
    }
    if (this.#state !== 'closing') return;
    const killTimer = setTimeout(() => {
      this.#rejectPending(
        () =>
          new KeelError(
            'ERR_CLOSED',
            `the remote was closed: the call did not finish within ${timeoutMs} ms`,
          ),
      );
      void this.#endpoint.terminate();
    }, timeoutMs);
    try {
      await this.#exited.promise;
    } finally {
      clearTimeout(killTimer);
    }
  }

  #onMessage(message: FromRemote): void {
    switch (message.type) {
      case 'ready':
        return;
      case 'started':
        this.#state = 'ready';
        this.#endpoint.unref();
        this.#started.resolve(undefined);
        return;
      case 'start-failed':
        this.#failStart(startError(deserializeError(message.error)));
        return;
      default:
        this.#settle(
          message.id,
          message.type === 'result',
          message.type === 'result'
            ? this.#binaries.received(message)
            : new CrossedError(message.error),
        );
    }
  }

  #settle(id: number, ok: boolean, outcome: unknown): void {
    const call = this.#pending.get(id);
    if (!call) return;
    this.#pending.delete(id);
    if (ok) call.resolve(outcome);
    else call.reject(outcome);
    this.#armHeadTimer();
    if (this.#pending.size > 0) return;
    if (this.#state === 'closing') this.#endpoint.post({ type: 'close' });
    else this.#endpoint.unref();
  }

  #armHeadTimer(): void {
    if (this.#headTimer) clearTimeout(this.#headTimer);
    this.#headTimer = undefined;
    const limitMs = this.#settings.callTimeoutMs;
    const head = this.#pending.keys().next();
    if (limitMs === undefined || head.done) return;
    this.#headTimer = setTimeout(() => {
      this.#deathReason = `the remote ${this.kind} was terminated: a call ran longer than callTimeoutMs (${limitMs} ms)`;
      this.#settle(
        head.value,
        false,
        new KeelError(
          'ERR_TIMEOUT',
          `the call ran longer than callTimeoutMs (${limitMs} ms); the remote was terminated`,
        ),
      );
      this.#state = 'dead';
      void this.#endpoint.terminate();
    }, limitMs);
  }

  #failStart(reason: unknown): void {
    if (this.#state !== 'starting') return;
    this.#state = 'dead';
    this.#deathReason = 'the remote failed to start';
    this.#started.reject(reason);
    void this.#endpoint.terminate();
  }

  #onExit(exit: WorkerExit): void {
    if (this.#headTimer) clearTimeout(this.#headTimer);
    const wasStarting = this.#state === 'starting';
    if (this.#state === 'closing') {
      this.#state = 'closed';
    } else if (this.#state !== 'closed') {
      this.#state = 'dead';
      this.#deathReason ||= `the remote ${this.kind} ${describeExit(exit)}`;
    }
    if (wasStarting) {
      this.#failStart(
        new KeelError(
          'ERR_START_FAILED',
          `the remote ${this.kind} ${describeExit(exit)} while starting`,
          { cause: exit.error },
        ),
      );
    }
    const reason = this.#deathReason || `the remote ${this.kind} ${describeExit(exit)}`;
    this.#rejectPending(() => new KeelError('ERR_WORKER_EXITED', reason, { cause: exit.error }));
    // Whatever the dead thread still held in the arena.
    this.#binaries.reclaim();
    this.#exited.resolve(exit);
  }

  /** Rejects every unanswered call and gives back the arena space of its arguments. */
  #rejectPending(makeError: () => KeelError): void {
    const calls = [...this.#pending.values()];
    this.#pending.clear();
    for (const call of calls) {
      this.#binaries.discard(call.claim);
      call.reject(makeError());
    }
  }
}

function startEndpoint(
  settings: SpawnSettings,
  arena: unknown,
  handlers: EndpointHandlers<FromRemote>,
): WorkerEndpoint<ToRemote> {
  const bootData: WorkerBootData = {
    keel: 1,
    role: 'remote',
    loaderHooks: loaderHooksForWorkers(),
    ...(arena ? { arena } : {}),
  };
  const common = { bootData, env: settings.env, execArgv: settings.execArgv };
  return settings.kind === 'process'
    ? startProcess<FromRemote, ToRemote>(common, handlers)
    : startLaneThread<FromRemote, ToRemote>(
        { ...common, resourceLimits: settings.resourceLimits, name: 'keel-remote' },
        handlers,
      );
}

/** A missing module or factory is reported as such; anything else the factory threw is the cause. */
function startError(error: unknown): unknown {
  if (
    error instanceof KeelError &&
    (error.code === 'ERR_NOT_FOUND' || error.code === 'ERR_START_FAILED')
  )
    return error;
  return new KeelError(
    'ERR_START_FAILED',
    `the remote object's factory failed: ${messageOf(error)}`,
    { cause: error },
  );
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
