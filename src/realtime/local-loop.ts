/**
 * The engine of a RealtimeLoop on the calling thread: ticks between the event loop's other work,
 * each one after a DeadlineWaiter (a timer, then setImmediate polls of the clock).
 */
import { KeelError } from '../errors.js';
import { reportFailure, withinMs, type LoopEngine } from './loop-engine.js';
import { LoopStatsMemory, type RealtimeLoopStats } from '../memory/loop-stats.js';
import type { LoopSettings } from './options.js';
import { nowMs } from '../timers/clock.js';
import { DeadlineClock, DeadlineWaiter, startTick } from '../timers/schedule.js';

type State = 'idle' | 'running' | 'stopped' | 'failed';

export class LocalLoopEngine implements LoopEngine {
  readonly #settings: LoopSettings;
  readonly #tick: (nowMs: number) => unknown;
  readonly #memory = LoopStatsMemory.allocate(false);
  readonly #waiter = new DeadlineWaiter();
  #state: State = 'idle';
  #stopRequested = false;
  #failure: { readonly error: unknown } | undefined;
  /** The tick loop: settles (never rejects) once no tick runs and none will. */
  #finished: Promise<void> = Promise.resolve();

  constructor(settings: LoopSettings, tick: (nowMs: number) => unknown) {
    this.#settings = settings;
    this.#tick = tick;
  }

  get running(): boolean {
    return this.#state === 'running' && !this.#stopRequested;
  }

  start(): void {
    if (this.#state === 'running' && !this.#stopRequested) return;
    if (this.#state !== 'idle') {
      throw new KeelError('ERR_CLOSED', 'the loop was stopped; create a new RealtimeLoop');
    }
    this.#state = 'running';
    this.#finished = this.#run();
  }

  stats(): RealtimeLoopStats {
    return this.#memory.read();
  }

  async stop(timeoutMs: number): Promise<void> {
    if (this.#state === 'idle') this.#state = 'stopped';
    this.#stopRequested = true;
    this.#waiter.cancel();
    await withinMs(this.#finished, timeoutMs, 'the running tick', () => {
      this.#state = 'stopped';
    });
    if (this.#failure) throw this.#failure.error;
  }

  setRef(ref: boolean): void {
    this.#waiter.setRef(ref);
  }

  async #run(): Promise<void> {
    const { periodMs, spinMs } = this.#settings;
    const clock = new DeadlineClock(nowMs(), periodMs);
    try {
      while (!this.#stopRequested && (await this.#waiter.wait(clock.deadlineMs, spinMs))) {
        const pending = startTick(clock, this.#memory, this.#tick);
        if (pending) await pending;
        clock.advance();
      }
      this.#state = 'stopped';
    } catch (error) {
      this.#state = 'failed';
      this.#failure = { error };
      reportFailure(error, this.#settings.onError, this.#stopRequested);
    }
  }
}
