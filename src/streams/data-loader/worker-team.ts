/**
 * The caller's side of a DataLoader's workers: `numWorkers` spawned remotes (threads or child
 * processes, `kind`), each serving one `LoaderWorker` (worker/data-loader-worker.ts), started
 * together and ended together. A remote is unref'd by spawn while it has no call pending, so an
 * idle team never keeps the process alive.
 */
import { close, spawn } from '../../execution/spawn/spawn.js';
import type { Remote } from '../../execution/spawn/remote-types.js';
import type { SpawnOptions } from '../../execution/spawn/spawn-options.js';
import type { LoaderWorkerSpec } from '../../protocol/loader-messages.js';
import { loaderHooksForWorkers } from '../../transport/caller/loader-hooks.js';
import type { LoaderWorker } from '../../worker/data-loader-worker.js';
import type { LoaderSettings } from './options.js';

/** The far-side module every loader worker imports (built to dist/worker/). */
const kWorkerModule = new URL('../../worker/data-loader-worker.js', import.meta.url);

/** How long a graceful end lets chunks in flight and the dataset's dispose hook run. */
export const kGracefulEndMs = 10_000;

export class WorkerTeam {
  readonly #workers: readonly Remote<LoaderWorker>[];
  /** Chunk calls sent to each worker and not answered yet. */
  readonly #inFlight: number[];
  #ended: Promise<void> | undefined;
  #idleWaiters: (() => void)[] = [];
  /** Set once a worker failed (crash, timeout): the team must not serve another epoch. */
  broken = false;

  private constructor(workers: readonly Remote<LoaderWorker>[]) {
    this.#workers = workers;
    this.#inFlight = workers.map(() => 0);
  }

  /** Starts every worker; if one fails to start, the others are ended and the error thrown. */
  static async start(settings: LoaderSettings): Promise<WorkerTeam> {
    const starting = Array.from({ length: settings.numWorkers }, (_, workerIndex) =>
      spawn<typeof import('../../worker/data-loader-worker.js'), 'startLoaderWorker'>(
        kWorkerModule,
        'startLoaderWorker',
        [workerSpec(settings, workerIndex)],
        spawnOptions(settings),
      ),
    );
    const outcomes = await Promise.allSettled(starting);
    const workers = outcomes.flatMap((outcome) =>
      outcome.status === 'fulfilled' ? [outcome.value] : [],
    );
    const failed = outcomes.find((outcome) => outcome.status === 'rejected');
    if (failed) {
      await Promise.all(workers.map((worker) => close(worker, { timeoutMs: 0 })));
      throw failed.reason;
    }
    return new WorkerTeam(workers);
  }

  get size(): number {
    return this.#workers.length;
  }

  /** Items in the dataset, as the first worker sees it now. */
  datasetLength(): Promise<number> {
    return this.#workers[0]!.datasetLength();
  }

  /** The worker with the fewest chunks in flight, if it has fewer than `limit`. */
  leastBusy(limit: number, after: number): number | undefined {
    let best: number | undefined;
    for (let step = 1; step <= this.#workers.length; step++) {
      const index = (after + step) % this.#workers.length;
      if (this.#inFlight[index]! >= limit) continue;
      if (best === undefined || this.#inFlight[index]! < this.#inFlight[best]!) best = index;
    }
    return best;
  }

  /** Loads one chunk on worker `index`. */
  async loadChunk(index: number, indices: Uint32Array): Promise<unknown> {
    this.#inFlight[index]!++;
    try {
      return await this.#workers[index]!.loadChunk(indices);
    } finally {
      this.#inFlight[index]!--;
      if (!this.busy) this.#wakeIdleWaiters();
    }
  }

  get busy(): boolean {
    return this.#inFlight.some((count) => count > 0);
  }

  /** Resolves once no chunk is in flight. */
  idle(): Promise<void> {
    if (!this.busy) return Promise.resolve();
    return new Promise((resolve) => {
      this.#idleWaiters.push(resolve);
    });
  }

  #wakeIdleWaiters(): void {
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const wake of waiters) wake();
  }

  /**
   * Ends every worker. `graceMs` lets chunks in flight and the dataset's dispose hook run first;
   * 0 terminates at once. Idempotent: later calls wait for the first end.
   */
  end(graceMs: number): Promise<void> {
    this.#ended ??= Promise.all(
      this.#workers.map((worker) => close(worker, { timeoutMs: graceMs })),
    ).then(() => undefined);
    return this.#ended;
  }

  get ended(): boolean {
    return this.#ended !== undefined;
  }
}

/**
 * How each worker is spawned: a thread or a child process, sharing the loader's arena if any,
 * with the loader's scheduling class and CPUs.
 */
function spawnOptions(settings: LoaderSettings): SpawnOptions {
  const common = { kind: settings.kind, ...settings.scheduling };
  return settings.arena ? { ...common, arena: settings.arena } : common;
}

function workerSpec(settings: LoaderSettings, workerIndex: number): LoaderWorkerSpec {
  return {
    dataset: settings.dataset,
    collate: settings.collate.where === 'worker' ? settings.collate.spec : { kind: 'none' },
    workerInit: settings.workerInit,
    workerIndex,
    numWorkers: settings.numWorkers,
    seed: settings.seed,
    loaderHooks: loaderHooksForWorkers(),
  };
}
