/**
 * The engine behind one `iterateInWorker` iterator: starts the worker at the first `next()`,
 * queues what arrives, hands items to the loop in order, counts them back to the worker (its
 * credits), and turns every way the stream can end into one last result.
 *
 * The worker keeps the process alive only while the loop waits for it (a pending `next()`) or
 * while `return()` waits for the generator's `finally`: an iteration the program abandons
 * does not hold the process open. The thread's receive pump runs only then too, so items that
 * arrive while the loop is busy wait in the ring and are read without a wake-up.
 */
import { CrossedError, KeelError, abortReason } from '../errors.js';
import { isCloneFailure, notCloneableError } from '../values/crossing.js';
import { release } from '../memory/arena/index.js';
import type { FromStreamWorker, StreamItemMessage } from '../protocol/stream-messages.js';
import { describeExit, type WorkerExit } from '../transport/caller/endpoint.js';
import type { StartedWorker } from '../transport/caller/worker-start.js';
import type { SchedulingReport } from '../platform/scheduling.js';
import type { ToStreamWorker } from '../protocol/stream-messages.js';
import { closeOwnedArena } from '../execution/arena-option.js';
import { BinaryLink } from '../execution/binary-link.js';
import { deferred } from '../execution/deferred.js';
import { setLongTimeout, type LongTimeout } from '../timers/long-timeout.js';
import {
  creditLine,
  exitedBeforeBoot,
  startFailure,
  startStreamEndpoint,
  type CreditLine,
} from './stream-link.js';
import { kDefaultStopTimeoutMs, type StreamSettings } from './stream-options.js';

export type StreamResult = IteratorResult<unknown, undefined>;

/** What the public iterator drives. */
export interface StreamEngine {
  next(): Promise<StreamResult>;
  /** An item ready now, the end, or undefined; throws the stream's failure. Never waits. */
  tryNext(): StreamResult | undefined;
  return(): Promise<StreamResult>;
  /** What the OS applied to the stream's worker thread, once it booted (priority or cpus given). */
  scheduling?(): SchedulingReport | undefined;
}

/** The export to run and its arguments, validated. */
export interface StreamTarget {
  readonly module: string;
  readonly name: string;
  readonly args: readonly unknown[];
}

/** How the stream ended: the last thing `next()` gives after the items. */
type Final = { readonly kind: 'end' } | { readonly kind: 'error'; readonly reason: unknown };

interface Waiter {
  readonly resolve: (result: StreamResult) => void;
  readonly reject: (reason: unknown) => void;
}

interface Link {
  readonly endpoint: StartedWorker<ToStreamWorker>;
  readonly binaries: BinaryLink;
  readonly credits: CreditLine;
}

export const kDone: StreamResult = Object.freeze({ done: true, value: undefined });

export class StreamController implements StreamEngine {
  readonly #settings: StreamSettings;
  readonly #target: StreamTarget;
  /** Wake the producer every `#batch` items taken (it may be waiting for room). */
  readonly #batch: number;
  #link: Link | undefined;
  /** Items received and not yet taken, in order. */
  readonly #items: unknown[] = [];
  #final: Final | undefined;
  /** Pending `next()` calls; when any waits, `#items` is empty. */
  readonly #waiters: Waiter[] = [];
  /** The loop got the last result or called return(): `next()` is done from now on. */
  #finished = false;
  /** return() asked the generator to stop and waits for the worker's exit. */
  #stopping = false;
  /** What the generator's `return()` threw, for the loop's `return()`. */
  #stopFailure: { readonly error: unknown } | undefined;
  /** The worker reported how the stop went, or the stream ended anyway, or it was killed. */
  #stopSettled = false;
  #taken = 0;
  #wokenAt = 0;
  #alive = false;
  /**
   * The worker said it is ready (its first message). A worker that exits before that never
   * ran the generator: a bad Node flag, a heap limit it cannot boot with. ERR_START_FAILED.
   */
  #booted = false;
  #refd = false;
  #timer: LongTimeout | undefined;
  #onAbort: (() => void) | undefined;
  readonly #exited = deferred<undefined>();

  constructor(settings: StreamSettings, target: StreamTarget) {
    this.#settings = settings;
    this.#target = target;
    this.#batch = Math.max(1, Math.floor(settings.buffer / 2));
  }

  scheduling(): SchedulingReport | undefined {
    return this.#link?.endpoint.scheduling;
  }

  next(): Promise<StreamResult> {
    if (this.#finished) return Promise.resolve(kDone);
    if (this.#link === undefined && this.#final === undefined) this.#start();
    if (this.#items.length > 0) return Promise.resolve({ done: false, value: this.#take() });
    if (this.#final !== undefined) return this.#settleFinal(this.#final);
    return new Promise((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
      if (this.#waiters.length === 1) this.#startWaiting();
    });
  }

  /**
   * The polling take: an item that has arrived, the end (`done: true`), or undefined when
   * nothing is ready yet; throws what `next()` would reject with. Never waits, and never lets
   * the worker find this thread asleep: a loop that polls (a RealtimeLoop tick) costs the
   * producer no wake-up per item. The first call starts the worker, as `next()` does.
   */
  tryNext(): StreamResult | undefined {
    if (this.#finished) return kDone;
    if (this.#link === undefined && this.#final === undefined) this.#start();
    // Items go to pending next() calls first: while one waits, nothing is left to poll.
    if (this.#waiters.length > 0) return undefined;
    // A poller does not wait: no receive pump (items are read here), no keep-alive, and no
    // sleeping thread for the worker to wake.
    this.#ref(false);
    this.#link?.endpoint.receivePending?.();
    if (this.#items.length > 0) return { done: false, value: this.#take() };
    const final = this.#final;
    if (final === undefined) return undefined;
    this.#finish();
    if (final.kind === 'end') return kDone;
    throw final.reason;
  }

  /** Ends the generator (its `finally` runs in the worker) and waits for the worker's exit. */
  async return(): Promise<StreamResult> {
    this.#finish();
    for (const waiter of this.#waiters.splice(0)) waiter.resolve(kDone);
    for (const value of this.#items.splice(0)) release(value);
    const link = this.#link;
    if (link === undefined) closeOwnedArena(this.#settings); // no worker ever started
    if (link === undefined || !this.#alive) return kDone;
    if (this.#final === undefined && !this.#stopping) {
      this.#stopping = true;
      this.#post({ type: 'stop' });
    }
    this.#ref(true);
    // Infinity lets the generator's finally take as long as it needs (an abort still ends it).
    const limitMs = this.#settings.timeoutMs ?? kDefaultStopTimeoutMs;
    const killTimer = setLongTimeout(() => {
      this.#stopSettled = true; // killed on purpose: not a failure of the generator's finally
      void link.endpoint.terminate();
    }, limitMs);
    try {
      await this.#exited.promise;
    } finally {
      killTimer.clear();
    }
    const stopFailure = this.#stopFailure;
    this.#stopFailure = undefined;
    if (stopFailure !== undefined) throw stopFailure.error;
    return kDone;
  }

  #start(): void {
    const { signal, kind, buffer } = this.#settings;
    if (signal?.aborted) {
      this.#final = { kind: 'error', reason: abortReason(signal) };
      closeOwnedArena(this.#settings);
      return;
    }
    const binaries = new BinaryLink(this.#settings.arena, kind);
    let endpoint: StartedWorker<ToStreamWorker>;
    try {
      endpoint = startStreamEndpoint(this.#settings, binaries.share, {
        onMessage: (message) => {
          this.#onMessage(message);
        },
        onExit: (exit) => {
          this.#onExit(exit);
        },
      });
    } catch (error) {
      // A thread Node refuses to create (a bad execArgv) fails here, synchronously: the
      // iteration rejects with it, as with any other start failure.
      binaries.reclaim();
      closeOwnedArena(this.#settings);
      this.#final = { kind: 'error', reason: startFailure(kind, error) };
      return;
    }
    const credits = creditLine(kind, endpoint);
    this.#link = { endpoint, binaries, credits };
    this.#alive = true;
    this.#refd = true;
    const { module, name, args } = this.#target;
    const memory = credits.memory;
    try {
      endpoint.post({
        type: 'start-stream',
        module,
        name,
        args,
        buffer,
        ...(memory ? { credits: memory } : {}),
      });
    } catch (error) {
      const reason = isCloneFailure(error) ? notCloneableError(args, 'args', error) : error;
      this.#final = { kind: 'error', reason };
      void endpoint.terminate();
      return;
    }
    if (signal) {
      this.#onAbort = () => {
        this.#abort(abortReason(signal));
      };
      signal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  #onMessage(message: FromStreamWorker): void {
    this.#booted = true;
    switch (message.type) {
      case 'item':
        this.#onItem(message);
        return;
      case 'end':
        this.#stopSettled = true;
        this.#setFinal({ kind: 'end' });
        return;
      case 'error':
        this.#stopSettled = true;
        // After a stop, the failure of an item the loop never asked for is nobody's business.
        if (!this.#stopping)
          this.#setFinal({ kind: 'error', reason: new CrossedError(message.error) });
        return;
      case 'stopped':
        this.#stopSettled = true;
        if (message.error) this.#stopFailure = { error: new CrossedError(message.error) };
        return;
      default:
        return;
    }
  }

  #onItem(message: StreamItemMessage): void {
    const binaries = this.#link!.binaries;
    if (this.#finished || this.#final !== undefined) {
      // Never taken: its arena space goes back without building views.
      binaries.discardReceived(message);
      return;
    }
    let value: unknown;
    try {
      value = binaries.received(message);
    } catch (error) {
      this.#fail(error);
      return;
    }
    const waiter = this.#waiters.shift();
    if (waiter === undefined) {
      this.#items.push(value);
      return;
    }
    this.#countTaken(this.#waiters.length > 0);
    waiter.resolve({ done: false, value });
    if (this.#waiters.length === 0) this.#stopWaiting();
    else this.#armTimer();
  }

  #onExit(exit: WorkerExit): void {
    this.#alive = false;
    // Whatever the worker still held in the arena; an arena built for this stream ends here.
    this.#link?.binaries.reclaim();
    closeOwnedArena(this.#settings);
    if (this.#onAbort) this.#settings.signal?.removeEventListener('abort', this.#onAbort);
    const kind = this.#settings.kind;
    if (!this.#stopping && !this.#booted) {
      this.#setFinal({ kind: 'error', reason: exitedBeforeBoot(kind, exit) });
    } else if (!this.#stopping) {
      const reason = new KeelError(
        'ERR_WORKER_EXITED',
        `the stream's worker ${kind} ${describeExit(exit)} before the stream ended`,
        { cause: exit.error },
      );
      this.#setFinal({ kind: 'error', reason });
    } else if (!this.#stopSettled) {
      // It died while ending the generator: its finally may not have run to the end.
      const reason = new KeelError(
        'ERR_WORKER_EXITED',
        `the stream's worker ${kind} ${describeExit(exit)} while its generator was ending`,
        { cause: exit.error },
      );
      this.#stopFailure = { error: reason };
    }
    this.#exited.resolve(undefined);
  }

  /** The first item waiting; counts it taken. */
  #take(): unknown {
    const value = this.#items.shift();
    this.#countTaken(false);
    return value;
  }

  /** Publishes the count; wakes the producer once per batch, or at once when `mustWake`. */
  #countTaken(mustWake: boolean): void {
    this.#taken++;
    const wake = mustWake || this.#taken - this.#wokenAt >= this.#batch;
    if (wake) this.#wokenAt = this.#taken;
    this.#link?.credits.publish(this.#taken, wake);
  }

  /** The loop waits and nothing is queued: keep the process alive, let the producer go on. */
  #startWaiting(): void {
    this.#ref(true);
    this.#wokenAt = this.#taken;
    this.#link?.credits.publish(this.#taken, true);
    this.#armTimer();
  }

  #stopWaiting(): void {
    this.#clearTimer();
    this.#ref(false);
  }

  #setFinal(final: Final): void {
    if (this.#final !== undefined || this.#finished) return;
    this.#final = final;
    const waiter = this.#waiters.shift();
    if (waiter === undefined) return;
    this.#settleFinal(final).then(waiter.resolve, waiter.reject);
    for (const other of this.#waiters.splice(0)) other.resolve(kDone);
  }

  #settleFinal(final: Final): Promise<StreamResult> {
    this.#finish();
    if (final.kind === 'end') return Promise.resolve(kDone);
    // What the generator threw (any value, as in a local loop) or an abort's reason.
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
    return Promise.reject(final.reason);
  }

  /** Abort or timeout: what is queued is dropped, the loop gets `reason`, the worker ends. */
  #fail(reason: unknown): void {
    if (this.#final !== undefined || this.#finished) return;
    for (const value of this.#items.splice(0)) release(value);
    this.#setFinal({ kind: 'error', reason });
    void this.#link?.endpoint.terminate();
  }

  #abort(reason: unknown): void {
    if (!this.#stopping) {
      this.#fail(reason);
      return;
    }
    this.#stopSettled = true; // ended on purpose: return() resolves
    void this.#link?.endpoint.terminate();
  }

  #finish(): void {
    this.#finished = true;
    this.#stopWaiting();
  }

  #armTimer(): void {
    const limitMs = this.#settings.timeoutMs;
    if (limitMs === undefined) return;
    this.#clearTimer();
    // Through setLongTimeout: Node's own timer turns 2^31 ms or more, and Infinity, into 1 ms.
    this.#timer = setLongTimeout(() => {
      this.#fail(
        new KeelError(
          'ERR_TIMEOUT',
          `no item arrived within timeoutMs (${limitMs} ms); the stream's worker was terminated`,
        ),
      );
    }, limitMs);
  }

  #clearTimer(): void {
    this.#timer?.clear();
    this.#timer = undefined;
  }

  #ref(on: boolean): void {
    if (this.#refd === on || !this.#alive) return;
    this.#refd = on;
    if (on) this.#link?.endpoint.ref();
    else this.#link?.endpoint.unref();
  }

  #post(message: ToStreamWorker): void {
    try {
      this.#link?.endpoint.post(message);
    } catch {
      // The worker is gone or going; its exit settles everything.
    }
  }
}
