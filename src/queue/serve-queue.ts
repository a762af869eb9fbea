/**
 * `serveQueue`: the worker machine's side of keel/queue (and what `keel worker` runs). Takes
 * jobs from a BullMQ queue, runs each on a local keel `Pool`, and pushes its answer to the
 * reply list of the caller that queued it.
 *
 * Delivery: a job that fails is answered once its last attempt failed; a job whose caller
 * withdrew it (a timeout, an abort) is stopped and answered by nobody; a job whose worker died
 * is run again by another one (BullMQ's stalled-job check), up to `maxStalls` times, after which
 * its caller is told ERR_WORKER_EXITED instead of waiting for ever.
 */
import { availableParallelism } from 'node:os';
import { serialize } from 'node:v8';
import { KeelError, serializeError } from '../errors.js';
import { ModuleMemo } from '../execution/module-ref.js';
import { Pool } from '../execution/pool/pool.js';
import { createRedisClient, dropClient, whenReady } from './connection.js';
import {
  cancelChannel,
  checkJobData,
  encodeReply,
  kReplyTtlMs,
  type JobData,
  type ReplyKind,
} from './job-protocol.js';
import { moduleHrefUnder } from './module-path.js';
import { decodeValue, encodeValue } from './payload.js';
import { Worker, type BullJob, type BullWorker, type RedisClient } from './peers.js';
import {
  closeIsForced,
  serveQueueSettings,
  type QueueCloseOptions,
  type ServeQueueOptions,
  type ServeQueueSettings,
} from './queue-options.js';

/** What `queueWorker.stats()` reports: this worker's jobs since it started, a snapshot. */
export interface QueueWorkerStats {
  /** Jobs running or waiting for a thread of the local pool. */
  readonly running: number;
  /** Jobs answered with a value. */
  readonly completed: number;
  /** Jobs answered with an error (or left for a retry). */
  readonly failed: number;
}

/** BullMQ's own limit on stalls, above keel's `maxStalls`: keel answers the caller itself. */
const kBullMaxStalls = 1_000_000;
/** How often a reply list's expiry is pushed back: far below its time to live. */
const kExpiryRenewalMs = 60_000;
/** Reply lists whose expiry this worker remembers (callers come and go). */
const kMaxTrackedReplyLists = 10_000;

/**
 * A running queue worker, as `serveQueue` returns it once it listens.
 *
 * @example
 * const worker = await serveQueue({ connection: 'redis://127.0.0.1:6379', queue: 'images' });
 * process.once('SIGTERM', () => void worker.close());
 */
export class QueueWorker implements AsyncDisposable {
  readonly #settings: ServeQueueSettings;
  readonly #pool: Pool;
  /** Each job module's href under `root`, by the portable path the jobs carry. */
  readonly #hrefs: ModuleMemo<string>;
  /** Commands: BullMQ's (it makes its blocking connection from this one) and the replies. */
  readonly #commands: RedisClient;
  /** Cancellations from callers (pub/sub needs a connection of its own). */
  readonly #cancels: RedisClient;
  #worker: BullWorker | undefined;
  /** Running jobs by id, with the controller that stops one when its caller withdraws it. */
  readonly #running = new Map<string, AbortController>();
  #completed = 0;
  #failed = 0;
  #forced = false;
  #closed: Promise<void> | undefined;
  readonly #reported = new Set<string>();
  /** When this worker last set the expiry of each caller's reply list. */
  readonly #expirySetMs = new Map<string, number>();

  /** @internal Use `serveQueue`. */
  constructor(settings: ServeQueueSettings) {
    this.#settings = settings;
    this.#commands = createRedisClient(settings.address);
    this.#cancels = createRedisClient(settings.address);
    this.#pool = new Pool({ maxThreads: settings.threads, minThreads: settings.threads });
    this.#hrefs = new ModuleMemo<string>((path) => moduleHrefUnder(path, settings.root));
  }

  /** The queue this worker takes jobs from. */
  get queue(): string {
    return this.#settings.queue;
  }

  /** @internal Connects, subscribes to cancellations, and starts taking jobs. */
  async start(): Promise<void> {
    const { address, connectTimeoutMs, prefix, queue } = this.#settings;
    await whenReady(this.#commands, address, connectTimeoutMs);
    await whenReady(this.#cancels, address, connectTimeoutMs);
    this.#cancels.on('message', (_channel: string, jobId: string) => {
      this.#running.get(jobId)?.abort();
    });
    await this.#cancels.subscribe(cancelChannel(prefix, queue));
    const worker = this.#makeWorker();
    this.#worker = worker;
    await worker.waitUntilReady();
  }

  /** This worker's jobs: running, completed, failed. */
  stats(): QueueWorkerStats {
    return { running: this.#running.size, completed: this.#completed, failed: this.#failed };
  }

  /**
   * Graceful (default): takes no new job, lets running ones finish and answer, then closes.
   * `force`: stops at once; the jobs it was running keep their place in Redis and run again on
   * another worker once their lock expires (`lockDurationMs`), as after a crash. Idempotent.
   */
  async close(options?: QueueCloseOptions): Promise<void> {
    const force = closeIsForced(options);
    if (force && !this.#forced) {
      this.#forced = true;
      for (const controller of this.#running.values()) controller.abort();
      void this.#worker?.close(true).catch(() => undefined);
    }
    this.#closed ??= this.#shutDown();
    await this.#closed;
  }

  /** The same as `close()`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #makeWorker(): BullWorker {
    const settings = this.#settings;
    const worker = new Worker(settings.queue, (job: BullJob) => this.#process(job), {
      connection: this.#commands,
      prefix: settings.prefix,
      concurrency: settings.concurrency,
      lockDuration: settings.lockDurationMs,
      stalledInterval: settings.stalledIntervalMs,
      maxStalledCount: kBullMaxStalls,
    });
    worker.on('error', (error: Error) => {
      this.#report(error);
    });
    return worker;
  }

  async #shutDown(): Promise<void> {
    try {
      await this.#worker?.close(this.#forced);
    } catch (error) {
      this.#report(error as Error);
    }
    await this.#pool.close({ force: this.#forced });
    dropClient(this.#cancels);
    dropClient(this.#commands);
  }

  // One job --------------------------------------------------------------------------------------

  async #process(job: BullJob): Promise<void> {
    const jobId = job.id ?? '';
    const data = checkJobData(job.data);
    if (typeof data === 'string') {
      this.#report(new KeelError('ERR_UNSUPPORTED', `job ${jobId} is not a keel job: ${data}`));
      return;
    }
    if (job.stalledCounter > this.#settings.maxStalls) {
      const lost = new KeelError(
        'ERR_WORKER_EXITED',
        `the job lost its worker ${job.stalledCounter} times (a crash, a SIGKILL, a lost ` +
          `machine), more than maxStalls (${this.#settings.maxStalls}) allows`,
      );
      await this.#answerError(data, jobId, lost);
      return;
    }
    const controller = new AbortController();
    this.#running.set(jobId, controller);
    try {
      await this.#runJob(job, data, jobId, controller.signal);
    } finally {
      this.#running.delete(jobId);
    }
  }

  async #runJob(job: BullJob, data: JobData, jobId: string, signal: AbortSignal): Promise<void> {
    let body: Buffer;
    try {
      const href = this.#hrefs.get(data.module);
      const args = decodeValue(Buffer.from(data.args, 'base64')) as unknown[];
      const result = await this.#pool.run(href, data.exportName, args, {
        signal,
        ...(data.timeoutMs === null ? {} : { timeoutMs: data.timeoutMs }),
      });
      body = encodeValue(result, 'result', data.maxPayloadBytes);
    } catch (error) {
      // Force-closed: leave the job active; its lock expires and another worker runs it.
      if (this.#forced) throw error;
      // Withdrawn by its caller, who answered itself: nothing to send, nothing to retry.
      if (signal.aborted) return;
      const attempts = job.opts.attempts ?? 1;
      if (job.attemptsMade + 1 < attempts) {
        this.#failed++;
        throw error;
      }
      await this.#answerError(data, jobId, error);
      return;
    }
    if (signal.aborted) return;
    await this.#reply(data, jobId, 'v', body);
    this.#completed++;
  }

  async #answerError(data: JobData, jobId: string, error: unknown): Promise<void> {
    this.#failed++;
    await this.#reply(data, jobId, 'e', serialize(serializeError(error)));
  }

  /**
   * Pushes the answer. The list gets an expiry, so that the replies of a caller that died do
   * not stay for ever: set with the first reply to it, renewed at most once a minute (one
   * command per job, not two: the reply is on every job's path).
   */
  async #reply(data: JobData, jobId: string, kind: ReplyKind, body: Uint8Array): Promise<void> {
    const key = data.replyTo;
    await this.#commands.rpush(key, encodeReply(jobId, kind, body));
    const nowMs = Date.now();
    if (nowMs - (this.#expirySetMs.get(key) ?? 0) < kExpiryRenewalMs) return;
    if (this.#expirySetMs.size > kMaxTrackedReplyLists) this.#expirySetMs.clear();
    this.#expirySetMs.set(key, nowMs);
    await this.#commands.pexpire(key, kReplyTtlMs);
  }

  /** Errors that belong to no job, once per distinct message. */
  #report(error: Error): void {
    if (this.#settings.onError) {
      this.#settings.onError(error);
      return;
    }
    if (this.#reported.has(error.message)) return;
    this.#reported.add(error.message);
    process.stderr.write(`keel worker (queue ${this.#settings.queue}): ${error.message}\n`);
  }
}

/**
 * Serves a queue on this machine: takes jobs that `QueuePool.run` queued, runs each on a local
 * keel `Pool` of `threads` threads, `concurrency` at a time, and sends back its answer. Module
 * references are resolved against `root`: start it from the same application checkout as the
 * callers. Resolves once it listens; rejects with ERR_UNAVAILABLE when Redis does not answer
 * within `connectTimeoutMs`, or ERR_INVALID_ARGUMENT for a bad option. `keel worker` is this,
 * from the command line.
 *
 * @example
 * import { serveQueue } from 'keel/queue';
 * const worker = await serveQueue({
 *   connection: 'redis://redis.internal:6379',
 *   queue: 'images',
 *   threads: 4,
 * });
 * process.once('SIGTERM', () => void worker.close()); // finishes running jobs, takes no new ones
 */
export async function serveQueue(options: ServeQueueOptions): Promise<QueueWorker> {
  const worker = new QueueWorker(serveQueueSettings(options, availableParallelism()));
  try {
    await worker.start();
  } catch (error) {
    await worker.close({ force: true });
    throw error;
  }
  return worker;
}
