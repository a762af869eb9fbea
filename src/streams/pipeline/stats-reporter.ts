/**
 * The observers of a run: `onStats` every `statsIntervalMs` (and once at the end), and the
 * progress views. Their timers are unref'd, so that they never keep the process alive, and
 * cleared when the run ends.
 */
import type { Failure } from './channel.js';
import { setLongInterval, type LongInterval } from '../../timers/long-timeout.js';
import type { PipelineSettings } from './pipeline-options.js';
import type { ProgressView } from './progress-view.js';
import type { PipelineStageStats } from './stage-stats.js';

export class StatsReporter {
  readonly #onStats: ((stats: PipelineStageStats[]) => void) | undefined;
  readonly #intervalMs: number;
  readonly #read: () => PipelineStageStats[];
  /** Called when `onStats` throws during the run: the run stops with that error. */
  readonly #onError: (error: unknown) => void;
  readonly #views: ProgressView[] = [];
  #timer: LongInterval | undefined;
  #state: 'idle' | 'running' | 'stopped' = 'idle';

  constructor(
    settings: PipelineSettings,
    read: () => PipelineStageStats[],
    onError: (error: unknown) => void,
  ) {
    this.#onStats = settings.onStats;
    this.#intervalMs = settings.statsIntervalMs;
    this.#read = read;
    this.#onError = onError;
  }

  /** Adds a progress view; it starts drawing now if the run is running, else at its start. */
  addView(view: ProgressView): void {
    if (this.#state === 'stopped') return;
    this.#views.push(view);
    if (this.#state === 'running') view.start();
  }

  start(): void {
    if (this.#state !== 'idle') return;
    this.#state = 'running';
    for (const view of this.#views) view.start();
    const onStats = this.#onStats;
    if (!onStats) return;
    this.#timer = setLongInterval(() => {
      try {
        onStats(this.#read());
      } catch (error) {
        this.#onError(error);
      }
    }, this.#intervalMs);
  }

  /** Stops the timers; a run that started reports its final stats. Returns what `onStats` threw. */
  stop(): Failure | undefined {
    const wasRunning = this.#state === 'running';
    this.#state = 'stopped';
    this.#timer?.clear();
    this.#timer = undefined;
    for (const view of this.#views.splice(0)) view.stop();
    if (!wasRunning || !this.#onStats) return undefined;
    try {
      this.#onStats(this.#read());
    } catch (error) {
      return { error };
    }
    return undefined;
  }
}
