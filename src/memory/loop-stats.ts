/**
 * The memory a RealtimeLoop keeps its control word and statistics in. For a loop in a worker it
 * is a SharedArrayBuffer: the worker is the only writer, and the calling thread reads a
 * consistent snapshot at any time, synchronously, under a sequence lock (the writer is never
 * blocked; a reader retries). Shared by both sides.
 */
import { Histogram } from '../metrics/histogram.js';
import { wakeWord } from '../platform/wait-word.js';

// Layout, in bytes:
//   0..3    int32    state word of a worker loop: kStarting -> kRunning -> kStopRequested
//   4..7    int32    sequence: odd while the writer updates the fields below
//   8..15   float64  ticks run
//   16..23  float64  ticks skipped (missed)
//   24..    Histogram of each run tick's lateness, in µs (Histogram.byteLength bytes)
/** The state word's index in `LoopStatsMemory.control` (the worker sleeps on it). */
export const kStateIndex = 0;
const kSequenceIndex = 1;
// Indices in a Float64Array over the same memory: bytes 8 and 16.
const kTicksSlot = 1;
const kMissedSlot = 2;
const kHistogramOffset = 24;
const kByteLength = kHistogramOffset + Histogram.byteLength;

const kStarting = 0;
/** The state word's value while the worker loop may tick. */
export const kRunning = 1;
const kStopRequested = 2;

/** Copies a reader tries (each ~1 µs) before it settles for its last consistent snapshot. */
const kMaxReadAttempts = 100;

/** What `RealtimeLoop.stats()` reports. */
export interface RealtimeLoopStats {
  /** Ticks run (started), since start(). */
  readonly ticks: number;
  /** Ticks skipped because their deadline had passed by a full period or more. */
  readonly missed: number;
  /** Lateness of each run tick: the time it started minus its deadline, in microseconds. */
  readonly jitterUs: {
    /** The median lateness, µs. */
    readonly p50: number;
    /** The 99th percentile of lateness, µs. */
    readonly p99: number;
    /** The latest tick, µs. */
    readonly max: number;
  };
}

export class LoopStatsMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  /** The state word (index 0) of a worker loop; Atomics-capable when shared. */
  readonly control: Int32Array;
  readonly #counters: Float64Array;
  readonly #lateness: Histogram;
  #snapshot: ArrayBuffer | undefined;
  #lastRead: RealtimeLoopStats = { ticks: 0, missed: 0, jitterUs: { p50: 0, p99: 0, max: 0 } };

  /** New, zeroed memory (shared for a worker loop), or a view of memory the caller passed on. */
  constructor(buffer: ArrayBuffer | SharedArrayBuffer) {
    this.buffer = buffer;
    this.control = new Int32Array(buffer, 0, 2);
    this.#counters = new Float64Array(buffer, 0, 3);
    this.#lateness = new Histogram({ buffer, byteOffset: kHistogramOffset });
  }

  static allocate(shared: boolean): LoopStatsMemory {
    return new LoopStatsMemory(
      shared ? new SharedArrayBuffer(kByteLength) : new ArrayBuffer(kByteLength),
    );
  }

  /**
   * The single writer (the thread that ticks): a tick starts `latenessUs` after its deadline,
   * `skipped` ticks before it were dropped. Never blocks, never allocates.
   */
  recordTick(latenessUs: number, skipped: number): void {
    // Odd from here until the second add: a reader that sees it, or sees it change, retries.
    Atomics.add(this.control, kSequenceIndex, 1);
    this.#counters[kTicksSlot]!++;
    this.#counters[kMissedSlot]! += skipped;
    this.#lateness.record(latenessUs);
    // Even again: the update above is complete and visible to readers.
    Atomics.add(this.control, kSequenceIndex, 1);
  }

  /**
   * Any thread: a consistent snapshot; never blocks; allocates the result. Against a writer that never pauses (no
   * loop: a loop's writer is idle for most of each period) every copy may overlap an update;
   * then the last consistent snapshot is returned, stale but never torn.
   */
  read(): RealtimeLoopStats {
    if (!(this.buffer instanceof SharedArrayBuffer)) return summarise(this.buffer);
    this.#snapshot ??= new ArrayBuffer(kByteLength);
    const copy = new Uint8Array(this.#snapshot);
    const source = new Uint8Array(this.buffer);
    for (let attempt = 0; attempt < kMaxReadAttempts; attempt++) {
      const before = Atomics.load(this.control, kSequenceIndex);
      if ((before & 1) !== 0) continue;
      copy.set(source);
      if (Atomics.load(this.control, kSequenceIndex) === before) {
        this.#lastRead = summarise(this.#snapshot);
        break;
      }
    }
    return this.#lastRead;
  }

  /** Worker side: kStarting -> kRunning. False when the caller asked for a stop meanwhile. */
  markRunning(): boolean {
    return Atomics.compareExchange(this.control, kStateIndex, kStarting, kRunning) === kStarting;
  }

  /** Caller side: asks a worker loop to stop; it leaves the loop after its current tick. */
  requestStop(): void {
    Atomics.store(this.control, kStateIndex, kStopRequested);
    // Wakes the worker's Atomics.wait in sleepUntil, which then sees the new state.
    wakeWord(this.control, kStateIndex);
  }
}

function summarise(buffer: ArrayBuffer): RealtimeLoopStats {
  const counters = new Float64Array(buffer, 0, 3);
  const lateness = new Histogram({ buffer, byteOffset: kHistogramOffset });
  return {
    ticks: counters[kTicksSlot]!,
    missed: counters[kMissedSlot]!,
    jitterUs: lateness.summary(),
  };
}
