/**
 * What stands behind a `DataLoader`: the epoch counter, the epoch being iterated, and the
 * workers: a team per epoch, or one team kept between epochs (`persistentWorkers`).
 *
 * One epoch at a time: an epoch holds the loader from its first `next()` until it finishes,
 * fails or is left (`return()`, what `break` calls). Another epoch that starts meanwhile is
 * refused with ERR_INVALID_ARGUMENT; the one being iterated goes on untouched (it used to be
 * stopped after one batch, silently, by the newcomer).
 */
import { KeelError } from '../../errors.js';
import { closeOwnedArena } from '../../execution/arena-option.js';
import { setLongTimeout } from '../../timers/long-timeout.js';
import { EpochRun, type EpochHost, type TeamOutcome } from './epoch-run.js';
import type { LoaderSettings } from './options.js';
import { batchCountOf, shardLengthOf } from './sampler.js';
import { WorkerTeam, kGracefulEndMs } from './worker-team.js';

export class LoaderEngine {
  readonly settings: LoaderSettings;
  #epoch = 0;
  #datasetLength: number | undefined;
  /** The epoch holding the loader: started (a first next()) and not yet over or left. */
  #active: EpochRun | undefined;
  /** The last epoch that held the loader: a new one waits until it gave its team back. */
  #lastActive: EpochRun | undefined;
  /** The team kept between epochs (persistentWorkers only). */
  #kept: Promise<WorkerTeam> | undefined;
  /** Every team not yet ended, to end them on close. */
  readonly #teams = new Set<WorkerTeam>();
  #closing: Promise<void> | undefined;
  #closeTimeoutMs = kGracefulEndMs;

  constructor(settings: LoaderSettings) {
    this.settings = settings;
  }

  get epoch(): number {
    return this.#epoch;
  }

  set epoch(value: number) {
    this.#epoch = value;
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** Batches per epoch, once a team reported the dataset's length. */
  get length(): number | undefined {
    if (this.#datasetLength === undefined) return undefined;
    const items = shardLengthOf(this.#datasetLength, this.settings);
    return batchCountOf(items, this.settings.batchSize, this.settings.dropLast);
  }

  /**
   * A new epoch, or ERR_INVALID_ARGUMENT while another one holds the loader. The epoch claims
   * the loader at its first next() (an iterator made and never used holds nothing).
   */
  startEpoch(): EpochRun {
    if (this.#active) throw concurrentEpochError(this.#active.epoch);
    let previous: EpochRun | undefined;
    const host: EpochHost = {
      settings: this.settings,
      claim: (run) => {
        if (this.#active !== undefined && this.#active !== run) {
          throw concurrentEpochError(this.#active.epoch);
        }
        previous = this.#lastActive;
        this.#active = this.#lastActive = run;
      },
      leave: (run) => {
        if (this.#active === run) this.#active = undefined;
      },
      acquireTeam: async () => {
        // The previous epoch is over, but may still be giving its team back (a persistent
        // team must be idle before it serves again): serialised behind its return().
        if (previous) await previous.return();
        return this.#acquireTeam();
      },
      releaseTeam: (team, outcome) => this.#releaseTeam(team, outcome),
      noteLength: (length) => {
        this.#datasetLength = length;
      },
    };
    return new EpochRun(host, this.#epoch++);
  }

  /** Fails the current epoch with ERR_CLOSED and ends every worker (killed after timeoutMs). */
  close(timeoutMs = kGracefulEndMs): Promise<void> {
    this.#closing ??= (async () => {
      this.#closeTimeoutMs = timeoutMs;
      this.#active?.fail(closedError());
      const kept = this.#kept;
      this.#kept = undefined;
      const keptTeam = kept ? await kept.catch(() => undefined) : undefined;
      if (keptTeam) this.#teams.add(keptTeam);
      await Promise.all([...this.#teams].map((team) => team.end(timeoutMs)));
      closeOwnedArena(this.settings);
    })();
    return this.#closing;
  }

  async #acquireTeam(): Promise<WorkerTeam> {
    if (this.closed) throw closedError();
    if (!this.settings.persistentWorkers) return this.#track(await WorkerTeam.start(this.settings));
    let kept = this.#kept;
    if (kept) {
      const team = await kept.catch(() => undefined);
      if (team && !team.broken && !team.ended) return team;
    }
    kept = WorkerTeam.start(this.settings).then((team) => this.#track(team));
    this.#kept = kept;
    kept.catch(() => {
      if (this.#kept === kept) this.#kept = undefined;
    });
    return kept;
  }

  /** A team that started after close() began is ended at once. */
  #track(team: WorkerTeam): WorkerTeam {
    if (this.closed) {
      void team.end(0);
      throw closedError();
    }
    this.#teams.add(team);
    return team;
  }

  async #releaseTeam(team: WorkerTeam, outcome: TeamOutcome): Promise<void> {
    if (this.closed) {
      // close() gives chunks in flight and dispose hooks its own timeoutMs.
      await team.end(this.#closeTimeoutMs);
      return;
    }
    const keep = this.settings.persistentWorkers && outcome !== 'failed';
    if (keep && outcome === 'stopped') {
      // Chunks already sent finish before the next epoch uses the team; a stuck one ends it.
      if (await settlesWithin(team.idle(), kGracefulEndMs)) return;
      team.broken = true;
    } else if (keep) {
      return;
    }
    if (outcome === 'failed') team.broken = true;
    await team.end(outcome === 'failed' ? 0 : kGracefulEndMs);
    this.#teams.delete(team);
  }
}

function closedError(): KeelError {
  return new KeelError('ERR_CLOSED', 'the loader was closed');
}

/** Why a second epoch cannot run beside the one being iterated, and what to do instead. */
function concurrentEpochError(epoch: number): KeelError {
  return new KeelError(
    'ERR_INVALID_ARGUMENT',
    `epoch ${epoch} of this DataLoader is still being iterated: a loader runs one epoch at a ` +
      'time. Let that loop finish, or leave it (break, or return() on its iterator), before ' +
      'starting another; for two streams of batches at once, make two loaders',
  );
}

async function settlesWithin(promise: Promise<void>, limitMs: number): Promise<boolean> {
  let timer: { clear(): void } | undefined;
  const expired = new Promise<false>((resolve) => {
    timer = setLongTimeout(() => {
      resolve(false);
    }, limitMs);
  });
  try {
    return await Promise.race([promise.then(() => true as const), expired]);
  } finally {
    timer?.clear();
  }
}
