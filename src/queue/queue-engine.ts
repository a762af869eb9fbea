/**
 * The caller's engine behind `QueuePool`: queues jobs on BullMQ, reads their replies from this
 * caller's own Redis list, and settles each run exactly once, whatever arrives late or twice.
 *
 * One run, one answer: a run settles on the first reply carrying its job id, on its timeout or
 * abort, on the loss of Redis, or on a forced close; it then leaves `#pending`, so a reply that
 * comes after (a job run twice because its worker died after replying, a job that could not be
 * withdrawn in time) finds nothing and is dropped.
 */
import { randomUUID } from 'node:crypto';
import { CrossedError, KeelError, abortReason } from '../errors.js';
import { deferred, type Deferred } from '../execution/deferred.js';
import { Histogram } from '../metrics/histogram.js';
import { setLongTimeout, type LongTimeout } from '../timers/long-timeout.js';
import { createRedisClient, dropClient, whenReady } from './connection.js';
import {
  cancelChannel,
  decodeErrorBody,
  kProtocolVersion,
  replyListKey,
  splitReply,
  type JobData,
} from './job-protocol.js';
import { decodeValue } from './payload.js';
import { Queue, type BullQueue, type RedisClient } from './peers.js';
import type { CheckedRunOptions, QueuePoolSettings, QueuePoolStats } from './queue-options.js';

/** A call as the front checked it: the module relative to root, the arguments serialized. */
export interface QueuedCall {
  readonly module: string;
  readonly exportName: string;
  readonly args: Buffer;
}

type RunState = 'connecting' | 'adding' | 'queued' | 'settled';

interface PendingRun {
  readonly jobId: string;
  readonly answer: Deferred<unknown>;
  readonly startedMs: number;
  state: RunState;
  timer: LongTimeout | undefined;
  detach: (() => void) | undefined;
}

/** How long one BLPOP blocks: the reply loop notices a close or an empty table this often. */
const kBlockSeconds = 1;
/** Replies taken in one LPOP after a BLPOP woke up: one round trip for a burst. */
const kDrainCount = 256;
/** BullMQ runs priority 1 first; keel's -1e6..1e6 (higher first) maps onto 48 576..2 048 576. */
const kPriorityOrigin = 1_048_576;
/** How long close() gives the withdrawal of force-closed jobs before it drops the connection. */
const kWithdrawGraceMs = 2_000;

export class QueueEngine {
  readonly #settings: QueuePoolSettings;
  readonly #replyKey: string;
  readonly #cancelChannel: string;
  readonly #jobPrefix = randomUUID();
  /** Commands: adding and removing jobs, publishing cancellations. Fails fast when offline. */
  readonly #commands: RedisClient;
  /** Replies: a blocking BLPOP, so a connection of its own. */
  readonly #replies: RedisClient;
  #queue: Promise<BullQueue> | undefined;
  #ready: Promise<void> | undefined;
  readonly #pending = new Map<string, PendingRun>();
  readonly #withdrawals = new Set<Promise<void>>();
  #nextJob = 0;
  #completed = 0;
  #failed = 0;
  readonly #roundTripUs = new Histogram();
  #reading = false;
  #state: 'open' | 'closing' | 'closed' = 'open';
  readonly #drained = deferred<undefined>();
  #closed: Promise<void> | undefined;

  constructor(settings: QueuePoolSettings) {
    this.#settings = settings;
    this.#replyKey = replyListKey(settings.prefix, settings.queue, this.#jobPrefix);
    this.#cancelChannel = cancelChannel(settings.prefix, settings.queue);
    this.#commands = createRedisClient(settings.address, { enableOfflineQueue: false });
    this.#replies = createRedisClient(settings.address);
    // Either connection going down means Redis may have lost the jobs (a restart without
    // persistence) and surely the wake-ups: runs in Redis would wait for ever.
    this.#commands.on('close', () => {
      this.#connectionLost();
    });
    this.#replies.on('close', () => {
      this.#connectionLost();
    });
  }

  run(call: QueuedCall, options: CheckedRunOptions): Promise<unknown> {
    if (this.#state !== 'open') return Promise.reject(closedError('the QueuePool is closed'));
    // Like Node's own APIs, an aborted call rejects with whatever the signal's reason is.
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
    if (options.signal?.aborted) return Promise.reject(abortReason(options.signal));
    const run = this.#track(`${this.#jobPrefix}-${++this.#nextJob}`, options);
    void this.#send(run, call, options);
    this.#readReplies();
    return run.answer.promise;
  }

  stats(): QueuePoolStats {
    return {
      pending: this.#pending.size,
      completed: this.#completed,
      failed: this.#failed,
      connected: this.#commands.status === 'ready',
      roundTripMs: this.#roundTripUs.summary(1e-3),
    };
  }

  /** Idempotent: every call returns the same shutdown; a forced one ends a graceful wait. */
  close(force: boolean): Promise<void> {
    if (this.#state === 'open') this.#state = 'closing';
    if (force) {
      for (const run of [...this.#pending.values()]) {
        this.#cancel(
          run,
          closedError('the QueuePool was closed with force before the job answered'),
        );
      }
    }
    if (this.#pending.size === 0) this.#drained.resolve(undefined);
    this.#closed ??= this.#shutDown();
    return this.#closed;
  }

  // One run ----------------------------------------------------------------------------------

  #track(jobId: string, options: CheckedRunOptions): PendingRun {
    const run: PendingRun = {
      jobId,
      answer: deferred<unknown>(),
      startedMs: performance.now(),
      state: 'connecting',
      timer: undefined,
      detach: undefined,
    };
    const { signal, timeoutMs } = options;
    if (timeoutMs !== undefined) {
      run.timer = setLongTimeout(() => {
        this.#cancel(run, timeoutError(timeoutMs));
      }, timeoutMs);
    }
    if (signal) {
      const onAbort = (): void => {
        this.#cancel(run, abortReason(signal));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      run.detach = () => {
        signal.removeEventListener('abort', onAbort);
      };
    }
    this.#pending.set(jobId, run);
    return run;
  }

  async #send(run: PendingRun, call: QueuedCall, options: CheckedRunOptions): Promise<void> {
    try {
      const queue = await this.#connectedQueue();
      if (run.state === 'settled') return;
      run.state = 'adding';
      await queue.add(call.exportName, this.#jobData(call, options), {
        jobId: run.jobId,
        priority: kPriorityOrigin - options.priority,
        attempts: options.attempts,
        removeOnComplete: true,
        removeOnFail: true,
      });
      // Settled while the job was being added (a timeout, an abort): take it back now.
      if (isSettled(run)) this.#withdraw(run.jobId);
      else run.state = 'queued';
    } catch (error) {
      this.#settle(run, false, this.#unavailable(error, 'could not queue the job'));
    }
  }

  #jobData(call: QueuedCall, options: CheckedRunOptions): JobData {
    return {
      keel: kProtocolVersion,
      module: call.module,
      exportName: call.exportName,
      args: call.args.toString('base64'),
      replyTo: this.#replyKey,
      timeoutMs: options.timeoutMs ?? null,
      maxPayloadBytes: this.#settings.maxPayloadBytes,
    };
  }

  /** Settles the run with `reason` and takes its job back from Redis, if it got there. */
  #cancel(run: PendingRun, reason: unknown): void {
    if (run.state === 'queued') this.#withdraw(run.jobId);
    this.#settle(run, false, reason);
  }

  /**
   * Removes a waiting job; a job that cannot be removed is running (its lock holds it), so the
   * workers are asked to stop it. Best effort: a job left behind runs, and its reply is dropped.
   */
  #withdraw(jobId: string): void {
    const withdrawal = (async () => {
      try {
        const queue = await this.#queue;
        const removed = await queue?.remove(jobId);
        if (removed !== 1) await this.#commands.publish(this.#cancelChannel, jobId);
      } catch {
        // Redis is gone: the job, if it still exists, runs without anyone waiting for it.
      }
    })();
    this.#withdrawals.add(withdrawal);
    void withdrawal.finally(() => this.#withdrawals.delete(withdrawal));
  }

  #settle(run: PendingRun, ok: boolean, outcome: unknown): void {
    if (run.state === 'settled') return;
    run.state = 'settled';
    this.#pending.delete(run.jobId);
    run.timer?.clear();
    run.detach?.();
    if (ok) {
      this.#completed++;
      run.answer.resolve(outcome);
    } else {
      this.#failed++;
      run.answer.reject(outcome);
    }
    if (this.#pending.size === 0 && this.#state !== 'open') this.#drained.resolve(undefined);
  }

  // Redis --------------------------------------------------------------------------------------

  /** The BullMQ queue, made once Redis first answered (BullMQ's own start would fail for good). */
  async #connectedQueue(): Promise<BullQueue> {
    this.#ready ??= whenReady(
      this.#commands,
      this.#settings.address,
      this.#settings.connectTimeoutMs,
    ).finally(() => {
      this.#ready = undefined;
    });
    await this.#ready;
    this.#queue ??= this.#makeQueue();
    return this.#queue;
  }

  async #makeQueue(): Promise<BullQueue> {
    const queue = new Queue(this.#settings.queue, {
      connection: this.#commands,
      prefix: this.#settings.prefix,
      // keel reads no BullMQ events: keep the stream short.
      streams: { events: { maxLen: 100 } },
    });
    // Connection errors reach the runs through their own commands; no listener would crash.
    queue.on('error', () => undefined);
    try {
      await queue.waitUntilReady();
      return queue;
    } catch (error) {
      this.#queue = undefined;
      throw error;
    }
  }

  #connectionLost(): void {
    for (const run of [...this.#pending.values()]) {
      if (run.state !== 'queued') continue;
      this.#settle(
        run,
        false,
        new KeelError(
          'ERR_UNAVAILABLE',
          `the connection to Redis at ${this.#settings.address.shown} was lost while the job ` +
            'was queued or running: it may still run, but its answer would not arrive',
        ),
      );
    }
  }

  #unavailable(error: unknown, what: string): unknown {
    if (error instanceof KeelError) return error;
    return new KeelError(
      'ERR_UNAVAILABLE',
      `${what} on Redis at ${this.#settings.address.shown}: ${(error as Error).message}`,
      { cause: error },
    );
  }

  // Replies ------------------------------------------------------------------------------------

  /** Starts the reply loop unless it runs; it ends by itself once no run waits. */
  #readReplies(): void {
    if (this.#reading) return;
    this.#reading = true;
    void this.#replyLoop().finally(() => {
      this.#reading = false;
      if (this.#pending.size > 0 && this.#state !== 'closed') this.#readReplies();
    });
  }

  async #replyLoop(): Promise<void> {
    while (this.#pending.size > 0 && this.#state !== 'closed') {
      try {
        const first = await this.#replies.blpopBuffer(this.#replyKey, kBlockSeconds);
        if (first === null) continue;
        this.#onReply(first[1]);
        const more = await this.#replies.lpopBuffer(this.#replyKey, kDrainCount);
        for (const element of more ?? []) this.#onReply(element);
      } catch {
        if (this.#isClosed()) return;
        // A command refused outright (not a lost connection: those wait): try again shortly.
        await new Promise((resolve) => setTimeout(resolve, 100).unref());
      }
    }
  }

  #onReply(element: Buffer): void {
    const reply = splitReply(element);
    const run = reply && this.#pending.get(reply.jobId);
    if (!reply || !run) return;
    this.#roundTripUs.record((performance.now() - run.startedMs) * 1000);
    try {
      if (reply.kind === 'v') this.#settle(run, true, decodeValue(reply.body));
      else this.#settle(run, false, new CrossedError(decodeErrorBody(reply.body)));
    } catch (error) {
      this.#settle(
        run,
        false,
        new KeelError(
          'ERR_UNSUPPORTED',
          "the worker's answer could not be decoded (is the worker on another Node.js version?)",
          { cause: error },
        ),
      );
    }
  }

  // Close --------------------------------------------------------------------------------------

  /** A method, not a comparison: the state changes across the awaits of the reply loop. */
  #isClosed(): boolean {
    return this.#state === 'closed';
  }

  async #shutDown(): Promise<void> {
    await this.#drained.promise;
    this.#state = 'closed';
    await boundedWait(Promise.allSettled(this.#withdrawals), kWithdrawGraceMs);
    if (this.#commands.status === 'ready') {
      // The reply list: empty unless a job answered twice or after its run settled.
      await boundedWait(this.#commands.del(this.#replyKey), kWithdrawGraceMs);
    }
    const queue = await this.#queue?.catch(() => undefined);
    if (queue) await boundedWait(queue.close(), kWithdrawGraceMs);
    dropClient(this.#commands);
    dropClient(this.#replies);
  }
}

/** A function, not a comparison: the state changes across the awaits of `#send`. */
function isSettled(run: PendingRun): boolean {
  return run.state === 'settled';
}

function closedError(message: string): KeelError {
  return new KeelError('ERR_CLOSED', message);
}

function timeoutError(timeoutMs: number): KeelError {
  return new KeelError('ERR_TIMEOUT', `the job did not answer within timeoutMs (${timeoutMs} ms)`);
}

/** Waits for `promise` at most `limitMs`; never rejects. */
async function boundedWait(promise: Promise<unknown>, limitMs: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    promise.catch(() => undefined),
    new Promise((resolve) => {
      timer = setTimeout(resolve, limitMs);
    }),
  ]);
  clearTimeout(timer);
}
