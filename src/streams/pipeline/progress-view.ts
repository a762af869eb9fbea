/**
 * The live progress view: one line per stage (items/s, counts, queue), redrawn in place on a
 * terminal. Never writes to a stream that is not a TTY (a log file, a pipe, CI output).
 */
import { invalidArgument } from '../../errors.js';
import { checkOptions, type OptionKeys } from '../../options/known-keys.js';
import { setLongInterval, type LongInterval } from '../../timers/long-timeout.js';
import type { PipelineStageStats } from './stage-stats.js';

/** Where and how often the progress view draws. */
export interface ProgressOptions {
  /** The terminal to draw on. Default `process.stderr`. Nothing is drawn unless `stream.isTTY`. */
  readonly stream?: {
    /** Only a terminal is drawn on. */
    readonly isTTY?: boolean;
    /** Writes one frame of the view. */
    write(text: string): unknown;
  };
  /** Redraw period in ms (a number > 0; Infinity: only the first and last frames). Default 500. */
  readonly intervalMs?: number;
}

const kProgressOptionKeys: OptionKeys<ProgressOptions> = { stream: true, intervalMs: true };

const kDefaultIntervalMs = 500;

/**
 * Validates progress options (the build option `progress`, or `p.progress()`'s argument): an
 * object with only an optional writable `stream` and an optional `intervalMs` > 0.
 */
export function checkProgressOptions(options: unknown): ProgressOptions {
  const name = 'progress';
  if (options === undefined) throw invalidArgument(name, '{ stream?, intervalMs? }', options);
  checkOptions<ProgressOptions>(name, options, kProgressOptionKeys);
  const { stream, intervalMs } = options;
  if (
    stream !== undefined &&
    (typeof stream !== 'object' ||
      stream === null ||
      typeof (stream as { write?: unknown }).write !== 'function')
  ) {
    throw invalidArgument(`${name}.stream`, 'a writable stream (with write())', stream);
  }
  if (intervalMs !== undefined && (typeof intervalMs !== 'number' || !(intervalMs > 0))) {
    throw invalidArgument(`${name}.intervalMs`, 'a number of milliseconds > 0', intervalMs);
  }
  return options;
}

// ANSI: move the cursor up `n` lines to column 1; erase the whole line.
const cursorUp = (lines: number): string => `\x1b[${lines}F`;
const kEraseLine = '\x1b[2K';

export class ProgressView {
  readonly #read: () => PipelineStageStats[];
  readonly #stream: { write(text: string): unknown };
  readonly #intervalMs: number;
  readonly #startedMs = performance.now();
  #timer: LongInterval | undefined;
  #linesDrawn = 0;
  #last: { readonly atMs: number; readonly outputs: readonly number[] } | undefined;

  /** A view of `read()`'s stats; undefined when the stream is not a terminal. */
  static open(
    read: () => PipelineStageStats[],
    options: ProgressOptions,
  ): ProgressView | undefined {
    const stream = options.stream ?? process.stderr;
    if (stream.isTTY !== true) return undefined;
    return new ProgressView(read, stream, options.intervalMs ?? kDefaultIntervalMs);
  }

  private constructor(
    read: () => PipelineStageStats[],
    stream: { write(text: string): unknown },
    intervalMs: number,
  ) {
    this.#read = read;
    this.#stream = stream;
    this.#intervalMs = intervalMs;
  }

  start(): void {
    if (this.#timer) return;
    this.#draw();
    // A progress view is only an observer: its timer never keeps the process alive.
    this.#timer = setLongInterval(() => {
      this.#draw();
    }, this.#intervalMs);
  }

  /** Draws the final state once more and stops redrawing. */
  stop(): void {
    if (!this.#timer) return;
    this.#timer.clear();
    this.#timer = undefined;
    this.#draw();
  }

  #draw(): void {
    const stats = this.#read();
    const nowMs = performance.now();
    const rates = stats.map((stage, index) => {
      const last = this.#last;
      if (!last) return 0;
      const seconds = (nowMs - last.atMs) / 1000;
      return seconds > 0 ? (stage.outputs - (last.outputs[index] ?? 0)) / seconds : 0;
    });
    this.#last = { atMs: nowMs, outputs: stats.map((stage) => stage.outputs) };
    const width = Math.max(5, ...stats.map((stage) => stage.name.length));
    const elapsed = ((nowMs - this.#startedMs) / 1000).toFixed(1);
    const lines = [
      `pipeline  ${elapsed} s`,
      ...stats.map((stage, index) => formatStage(stage, rates[index]!, width)),
    ];
    const rewind = this.#linesDrawn > 0 ? cursorUp(this.#linesDrawn) : '';
    this.#stream.write(rewind + lines.map((line) => `${kEraseLine}${line}\n`).join(''));
    this.#linesDrawn = lines.length;
  }
}

function formatStage(stage: PipelineStageStats, perSecond: number, width: number): string {
  const rate = `${perSecond.toFixed(1)}/s`.padStart(10);
  return (
    `  ${stage.name.padEnd(width)} ${rate}  in ${stage.inputs}  out ${stage.outputs}` +
    `  failed ${stage.failures}  queued ${stage.queued}  ${stage.taskMs.avg.toFixed(2)} ms/item`
  );
}
