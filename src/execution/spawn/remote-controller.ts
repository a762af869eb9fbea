/**
 * The caller's side of one remote object: starts its thread or process, sends calls in order,
 * matches answers, and turns every way the far side can end into a settled promise.
 */
import { CrossedError, KeelError, abortReason, deserializeError } from '../../errors.js';
import type { PackedClaim } from '../../memory/arena/transit.js';
import { closeOwnedArena } from '../arena-option.js';
import { BinaryLink } from '../binary-link.js';
import { isCloneFailure, notCloneableError } from '../../values/crossing.js';
import type { FromRemote, ToRemote } from '../../protocol/messages.js';
import {
  describeExit,
  describeStartExit,
  type WorkerExit,
} from '../../transport/caller/endpoint.js';
import {
  bootRefusal,
  startWorker,
  type StartedWorker,
} from '../../transport/caller/worker-start.js';
import type { SchedulingReport } from '../../platform/scheduling.js';
import type { SpawnSettings } from './spawn-options.js';
import { deferred } from '../deferred.js';
import { setLongTimeout, type LongTimeout } from '../../timers/long-timeout.js';

interface PendingCall {
  readonly resolve: (value: unknown) => void;
  readonly reject: (reason: unknown) => void;
  /** What its arguments took from the arena, given back if the remote dies first. */
  readonly claim: PackedClaim | undefined;
}

type State = 'starting' | 'ready' | 'closing' | 'closed' | 'dead';

/** How long close() lets pending calls and the object's dispose hook run before killing. */
export const kDefaultCloseTimeoutMs = 10_000;
/**
 * How long a failed start waits for the killed worker to be gone before spawn rejects anyway.
 * A terminated thread or a SIGKILLed child is gone in milliseconds; this only bounds the wait.
 */
const kStartKillGraceMs = 2_000;

export class RemoteController {
  readonly #settings: SpawnSettings;
  readonly #endpoint: StartedWorker<ToRemote>;
  /** Unanswered calls in call order; the first one is running. */
  readonly #pending = new Map<number, PendingCall>();
  #nextId = 1;
  #state: State = 'starting';
  /** The worker's entry ran and sent 'ready': from then on a failure is the module's own. */
  #booted = false;
  #deathReason = '';
  readonly #started = deferred<undefined>();
  readonly #exited = deferred<WorkerExit>();
  #headTimer: LongTimeout | undefined;
  readonly #binaries: BinaryLink;

  constructor(
    settings: SpawnSettings,
    module: string,
    factory: string | undefined,
    args: readonly unknown[],
  ) {
    this.#settings = settings;
    this.#binaries = new BinaryLink(settings.arena, settings.kind);
    try {
      // Throws ERR_START_FAILED when the platform refuses to start the worker (a bad flag).
      this.#endpoint = startWorker<FromRemote, ToRemote>(
        {
          role: 'remote',
          kind: settings.kind,
          arena: this.#binaries.share,
          resourceLimits: settings.resourceLimits,
          env: settings.env,
          execArgv: settings.execArgv,
          scheduling: settings.scheduling,
        },
        {
          onMessage: (message) => {
            this.#onMessage(message);
          },
          onExit: (exit) => {
            this.#onExit(exit);
          },
        },
      );
    } catch (error) {
      this.#binaries.reclaim();
      closeOwnedArena(settings);
      throw error;
    }
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

  /** What the OS applied to the remote's thread (or process); undefined when none was asked. */
  get scheduling(): SchedulingReport | undefined {
    return this.#endpoint.scheduling;
  }

  /**
   * Resolves once the object exists; rejects on failure, timeout, abort or exit. A rejection
   * comes once the worker is gone (killed if need be), so nothing of a failed start lingers.
   */
  async started(): Promise<undefined> {
    const { startTimeoutMs, signal } = this.#settings;
    // Infinity or none: no timer at all (setTimeout would turn Infinity into 1 ms).
    const timer =
      startTimeoutMs === undefined
        ? undefined
        : setLongTimeout(() => {
            this.#failStart(
              new KeelError(
                'ERR_TIMEOUT',
                `the remote did not start within startTimeoutMs (${startTimeoutMs} ms); ` +
                  `its ${this.kind} was killed`,
              ),
            );
          }, startTimeoutMs);
    const onAbort = () => {
      this.#failStart(abortReason(signal as AbortSignal));
    };
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await this.#started.promise;
    } catch (error) {
      await this.#gone();
      throw error;
    } finally {
      timer?.clear();
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Resolves once the worker exited, or after kStartKillGraceMs if it somehow has not. */
  async #gone(): Promise<void> {
    let grace: LongTimeout | undefined;
    await Promise.race([
      this.#exited.promise,
      new Promise<void>((resolve) => {
        grace = setLongTimeout(resolve, kStartKillGraceMs);
      }),
    ]);
    grace?.clear();
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
      const invoke = { type: 'invoke', id, kind, name, ...packed.marks, args: packedArgs } as const;
      this.#endpoint.post(invoke, packed.transfer);
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

  /**
   * Lets pending calls finish, disposes the object, ends the worker; kills it after timeoutMs
   * (Infinity: never). Every call resolves once the worker is gone, however many there are.
   */
  async close(timeoutMs = kDefaultCloseTimeoutMs): Promise<void> {
    if (this.#state === 'ready') {
      this.#state = 'closing';
      this.#endpoint.ref();
      if (this.#pending.size === 0) this.#endpoint.post({ type: 'close' });
    }
    // Dead or closed: its exit has come or is coming (every path to 'dead' ends the worker).
    if (this.#state !== 'closing') {
      await this.#exited.promise;
      return;
    }
    const killTimer = setLongTimeout(() => {
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
      killTimer.clear();
    }
  }

  #onMessage(message: FromRemote): void {
    switch (message.type) {
      case 'ready':
        this.#booted = true;
        return;
      case 'started':
        // Too late when the start already failed (timed out, aborted): the worker is ending.
        if (this.#state !== 'starting') return;
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
    this.#headTimer?.clear();
    this.#headTimer = undefined;
    const limitMs = this.#settings.callTimeoutMs;
    const head = this.#pending.keys().next();
    if (limitMs === undefined || head.done) return;
    this.#headTimer = setLongTimeout(() => {
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
    this.#headTimer?.clear();
    // First, while the state still says so: a worker that ended before its object existed
    // fails the start (with what it wrote to stderr), or spawn would wait for ever.
    if (this.#state === 'starting') {
      this.#failStart(
        // A refused scheduling class (ERR_PERMISSION) is reported as such.
        bootRefusal(exit) ??
          new KeelError(
            'ERR_START_FAILED',
            describeStartExit(`remote ${this.kind}`, exit, this.#booted),
            {
              cause: exit.error,
            },
          ),
      );
    }
    if (this.#state === 'closing') {
      this.#state = 'closed';
    } else if (this.#state !== 'closed') {
      this.#state = 'dead';
      this.#deathReason ||= `the remote ${this.kind} ${describeExit(exit)}`;
    }
    const reason = this.#deathReason || `the remote ${this.kind} ${describeExit(exit)}`;
    this.#rejectPending(() => new KeelError('ERR_WORKER_EXITED', reason, { cause: exit.error }));
    // Whatever the dead thread still held in the arena; an arena built for this remote ends here.
    this.#binaries.reclaim();
    closeOwnedArena(this.#settings);
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
