/**
 * One epoch: cuts the visiting order into batches and chunks, sends chunks to the least busy
 * workers while fewer than `prefetch` batches are loading or waiting, puts the chunks of each
 * batch back in order, and hands batches to `next()` in order (or as they complete).
 * Everything here runs on the caller's thread; it only moves indices and joins chunks.
 */
import { KeelError } from '../../errors.js';
import { release } from '../../memory/arena/index.js';
import { deferred, type Deferred } from '../../execution/deferred.js';
import { setLongTimeout, type LongTimeout } from '../../timers/long-timeout.js';
import { chunksOf, planEpoch, type EpochPlan } from './sampler.js';
import { assembleBatch } from './assemble.js';
import type { LoaderSettings } from './options.js';
import type { WorkerTeam } from './worker-team.js';

/** Chunk calls queued on one worker at once: one running, one ready to start when it ends. */
const kCallsPerWorker = 2;

/** How an epoch gave its team back. */
export type TeamOutcome = 'finished' | 'stopped' | 'failed';

/** What a run needs from its loader. */
export interface EpochHost {
  readonly settings: LoaderSettings;
  /** At the first next(): takes the loader, or throws while another epoch holds it. */
  claim(run: EpochRun): void;
  /** The epoch is over or was left: another may take the loader now. */
  leave(run: EpochRun): void;
  acquireTeam(): Promise<WorkerTeam>;
  releaseTeam(team: WorkerTeam, outcome: TeamOutcome): Promise<void>;
  /** Told the dataset's length once the team reported it. */
  noteLength(length: number): void;
}

interface BatchSlot {
  readonly chunks: unknown[];
  remaining: number;
}

type State = 'idle' | 'starting' | 'running' | 'done';

const kDone: IteratorResult<never, undefined> = { done: true, value: undefined };

export class EpochRun {
  readonly #host: EpochHost;
  readonly #epoch: number;
  #state: State = 'idle';
  #team: WorkerTeam | undefined;
  #plan: EpochPlan | undefined;
  /** Batches handed to the loop. */
  #taken = 0;
  /** The next chunk to send: batch, position, and that batch's chunks. */
  #sendBatch = 0;
  #sendChunk = 0;
  #sendChunks: Uint32Array[] | undefined;
  #lastWorker = -1;
  readonly #slots = new Map<number, BatchSlot>();
  /** Completed batches in completion order (used when not ordered). */
  readonly #completed: number[] = [];
  #failure: { readonly error: unknown; delivered: boolean } | undefined;
  #wake: Deferred<undefined> | undefined;
  #released: Promise<void> | undefined;
  /** Serialises next() and return(): a loop never has two pending at once, but a caller might. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(host: EpochHost, epoch: number) {
    this.#host = host;
    this.#epoch = epoch;
  }

  /** This epoch's number (its order derives from it). */
  get epoch(): number {
    return this.#epoch;
  }

  next(): Promise<IteratorResult<unknown, undefined>> {
    return this.#serialised(() => this.#next());
  }

  /** Stops loading: no chunk is sent any more; resolves once the team was given back. */
  return(): Promise<IteratorResult<unknown, undefined>> {
    // The loader is free at once: a new epoch may start now, and waits for this team itself.
    this.#host.leave(this);
    return this.#serialised(async () => {
      await this.#stop();
      return kDone;
    });
  }

  /** Ends the epoch with `error` (close, a worker's failure): the pending or next next() rejects. */
  fail(error: unknown): void {
    if (this.#state === 'done') return;
    this.#state = 'done';
    this.#host.leave(this);
    this.#failure = { error, delivered: false };
    this.#giveBack('failed');
    this.#notify();
  }

  #serialised<T>(task: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(task);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  async #next(): Promise<IteratorResult<unknown, undefined>> {
    if (this.#state === 'idle') {
      try {
        this.#host.claim(this);
      } catch (error) {
        this.#state = 'done'; // refused: it never ran, and never will
        throw error;
      }
      this.#start();
    }
    const timer = this.#armTimeout();
    try {
      for (;;) {
        if (this.#failure && !this.#failure.delivered) return await this.#deliverFailure();
        if (this.#state === 'done') return kDone;
        const batch = this.#takeReady();
        if (batch !== undefined) return { done: false, value: await this.#assemble(batch) };
        if (this.#plan && this.#taken === this.#plan.batchCount) {
          await this.#finish();
          return kDone;
        }
        this.#wake = deferred();
        await this.#wake.promise;
      }
    } finally {
      timer?.clear();
    }
  }

  #start(): void {
    this.#state = 'starting';
    void this.#startTeam().catch((error: unknown) => {
      this.fail(error);
    });
  }

  async #startTeam(): Promise<void> {
    const team = await this.#host.acquireTeam();
    if (this.#state !== 'starting') {
      await this.#host.releaseTeam(team, this.#failure ? 'failed' : 'stopped');
      return;
    }
    this.#team = team;
    const length = await team.datasetLength();
    if (this.#state !== 'starting') return;
    this.#host.noteLength(length);
    this.#plan = planEpoch(length, this.#epoch, this.#host.settings);
    this.#state = 'running';
    this.#send();
    this.#notify();
  }

  /** Sends chunks while a worker has room and the prefetch bound allows. */
  #send(): void {
    const plan = this.#plan!;
    const team = this.#team!;
    const limit = Math.min(plan.batchCount, this.#taken + this.#host.settings.prefetch);
    while (this.#state === 'running' && this.#sendBatch < limit) {
      const worker = team.leastBusy(kCallsPerWorker, this.#lastWorker);
      if (worker === undefined) return;
      const batch = this.#sendBatch;
      const chunks = (this.#sendChunks ??= chunksOf(plan, batch));
      if (this.#sendChunk === 0) {
        this.#slots.set(batch, {
          chunks: new Array<unknown>(chunks.length),
          remaining: chunks.length,
        });
      }
      const position = this.#sendChunk++;
      if (this.#sendChunk === chunks.length) {
        this.#sendBatch++;
        this.#sendChunk = 0;
        this.#sendChunks = undefined;
      }
      this.#lastWorker = worker;
      team.loadChunk(worker, chunks[position]!).then(
        (result) => {
          this.#onChunk(batch, position, result);
        },
        (error: unknown) => {
          this.fail(error);
        },
      );
    }
  }

  #onChunk(batch: number, position: number, result: unknown): void {
    const slot = this.#slots.get(batch);
    if (this.#state !== 'running' || !slot) {
      // A chunk of a stopped or failed epoch: its arena space goes back now.
      release(result);
      this.#notify();
      return;
    }
    slot.chunks[position] = result;
    if (--slot.remaining === 0) this.#completed.push(batch);
    this.#send();
    this.#notify();
  }

  /** The next batch to hand out, if it is complete. */
  #takeReady(): unknown[] | undefined {
    if (this.#state !== 'running') return undefined;
    const batch = this.#host.settings.ordered
      ? this.#slots.get(this.#taken)?.remaining === 0
        ? this.#taken
        : undefined
      : this.#completed.shift();
    if (batch === undefined) return undefined;
    const slot = this.#slots.get(batch)!;
    this.#slots.delete(batch);
    this.#taken++;
    this.#send();
    return slot.chunks;
  }

  async #assemble(chunks: unknown[]): Promise<unknown> {
    try {
      return await assembleBatch(chunks, this.#host.settings);
    } catch (error) {
      this.fail(error);
      this.#failure!.delivered = true;
      await this.#released;
      throw error;
    }
  }

  async #deliverFailure(): Promise<never> {
    this.#failure!.delivered = true;
    await this.#released;
    throw this.#failure!.error;
  }

  async #finish(): Promise<void> {
    this.#state = 'done';
    this.#host.leave(this);
    this.#giveBack('finished');
    await this.#released;
  }

  async #stop(): Promise<void> {
    if (this.#state === 'starting' || this.#state === 'running') {
      this.#state = 'done';
      this.#host.leave(this);
      this.#giveBack('stopped');
      this.#notify();
    }
    if (this.#failure) this.#failure.delivered = true;
    await this.#released;
  }

  #giveBack(outcome: TeamOutcome): void {
    const team = this.#team;
    // Ending workers does not fail; if it ever did, nothing is left to report it to.
    this.#released ??= team
      ? this.#host.releaseTeam(team, outcome).catch(() => undefined)
      : Promise.resolve();
    for (const slot of this.#slots.values()) release(slot.chunks);
    this.#slots.clear();
  }

  #armTimeout(): LongTimeout | undefined {
    const limitMs = this.#host.settings.timeoutMs;
    if (limitMs === undefined || this.#state === 'done') return undefined;
    // Through setLongTimeout: Node's own timer turns 2^31 ms or more, and Infinity, into 1 ms.
    return setLongTimeout(() => {
      this.fail(
        new KeelError(
          'ERR_TIMEOUT',
          `no batch arrived within timeoutMs (${limitMs} ms); the loader's workers were terminated`,
        ),
      );
    }, limitMs);
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.resolve(undefined);
  }
}
