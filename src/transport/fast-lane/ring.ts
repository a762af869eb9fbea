/**
 * A single-producer single-consumer message ring over one SharedArrayBuffer, with an
 * eventcount-style sleep flag so that the producer pays for `Atomics.notify` only when the
 * consumer actually went to sleep. One thread writes (`RingWriter`), one thread reads
 * (`RingReader`); each side builds its own object over the same buffer.
 *
 * Layout (all words little-endian Int32, Int32Array index in brackets):
 *
 *   byte   0..3   [0]  kWriteIndex  bytes published by the producer, mod 2^32   (producer)
 *   byte   4..7   [1]  kOutOfBand   messages the producer sent beside the ring  (producer)
 *   byte   8..11  [2]  kCapacity    data area bytes, a power of two              (set once)
 *   byte  12..15  [3]  kMagic       0x6b65656c ('keel'), marks an initialised ring (set once)
 *   byte  16..19  [4]  kClosed      0 open, 1 closed                             (either side)
 *   byte  20..63        padding: the producer's words stay off the consumer's cache line
 *   byte  64..67  [16] kReadIndex   bytes consumed, mod 2^32                     (consumer)
 *   byte  68..71  [17] kSleeping    1 (or 2, sleep-flag.ts) while the consumer may sleep (consumer
 *                                   sets, producer clears)
 *   byte  72..75  [18] kOutOfBandTaken  out-of-band messages the consumer has taken  (consumer)
 *   byte  76..127       padding
 *   byte 128..128+capacity-1        data area, a sequence of frames:
 *
 *   frame: [Int32 payloadBytes][payload bytes][0..3 bytes of padding to a multiple of 4]
 *          payloadBytes === kWrapMarker (-1): nothing more before the end, the next frame is at
 *          data offset 0. A frame never straddles the end, so a payload is always contiguous.
 *
 * The indices count bytes and wrap at 2^32; a position is `index & (capacity - 1)`, and the
 * bytes in use are `(write - read) | 0`, exact because capacity <= 2^30. Every frame starts on a
 * multiple of 4, so at least 4 bytes remain before the end: room for a wrap marker.
 *
 * kSleeping is the consumer's eventcount flag (sleep-flag.ts argues why no wake-up is lost):
 * the consumer sets it before sleeping and re-checks kWriteIndex, kOutOfBand and kClosed; the
 * producer publishes one of those, then clears the flag and notifies only if it was set.
 */

import { invalidArgument } from '../../errors.js';
import { SleepFlag, wakeSleeper, wakeSleeperBeside, type SideWake } from './sleep-flag.js';

const kWriteIndex = 0;
const kOutOfBand = 1;
const kCapacity = 2;
const kMagic = 3;
const kClosed = 4;
const kReadIndex = 16;
const kSleeping = 17;
const kOutOfBandTaken = 18;

/** Header size in bytes; the data area starts here. */
export const kRingHeaderBytes = 128;
/** The length prefix of a frame, in bytes. */
export const kFrameHeaderBytes = 4;
/** Default data-area size of a ring: 256 KiB. */
export const kDefaultRingCapacityBytes = 256 * 1024;

const kMagicValue = 0x6b65656c;
const kWrapMarker = -1;
const kMinCapacityBytes = 64;
const kMaxCapacityBytes = 2 ** 30;

/** Word indices of the header, for tests and tools that inspect a ring. */
export const kRingWords = {
  kWriteIndex,
  kOutOfBand,
  kCapacity,
  kMagic,
  kClosed,
  kReadIndex,
  kSleeping,
  kOutOfBandTaken,
} as const;

/** The largest payload a ring of `capacityBytes` accepts (always fits once the ring drains). */
export function maxMessageBytesFor(capacityBytes: number): number {
  // A frame of at most capacity/2 bytes fits an empty ring at any position p: either it fits
  // before the end, or p > capacity/2 and it fits after wrapping (skip + frame <= capacity).
  return capacityBytes / 2 - kFrameHeaderBytes;
}

/**
 * Allocates and initialises the shared memory of one ring. Pass the buffer to both threads.
 * @param capacityBytes data-area size, a power of two in [64, 2^30]; default 256 KiB.
 * @param allocate where the memory comes from (zeroed): a child process's lane takes memory it
 *   can map (memory/arena/handed-memory.ts).
 * @example const sab = createRingBuffer(64 * 1024); const writer = new RingWriter(sab);
 */
export function createRingBuffer(
  capacityBytes: number = kDefaultRingCapacityBytes,
  allocate: (bytes: number) => SharedArrayBuffer = (bytes) => new SharedArrayBuffer(bytes),
): SharedArrayBuffer {
  if (
    !isPowerOfTwo(capacityBytes) ||
    capacityBytes < kMinCapacityBytes ||
    capacityBytes > kMaxCapacityBytes
  ) {
    throw invalidArgument('capacityBytes', 'a power of two between 64 and 2^30', capacityBytes);
  }
  const buffer = allocate(kRingHeaderBytes + capacityBytes);
  const header = new Int32Array(buffer, 0, kRingHeaderBytes / 4);
  header[kCapacity] = capacityBytes;
  header[kMagic] = kMagicValue; // plain writes: the buffer reaches other threads by postMessage
  return buffer;
}

function isPowerOfTwo(value: number): boolean {
  return Number.isInteger(value) && value > 0 && (value & (value - 1)) === 0;
}

function checkedHeader(buffer: SharedArrayBuffer): Int32Array {
  if (
    !(buffer instanceof SharedArrayBuffer) ||
    buffer.byteLength < kRingHeaderBytes + kMinCapacityBytes
  ) {
    throw invalidArgument('buffer', 'a SharedArrayBuffer made by createRingBuffer()', buffer);
  }
  const header = new Int32Array(buffer, 0, kRingHeaderBytes / 4);
  const capacity = Atomics.load(header, kCapacity);
  if (
    Atomics.load(header, kMagic) !== kMagicValue ||
    buffer.byteLength !== kRingHeaderBytes + capacity
  ) {
    throw invalidArgument('buffer', 'a SharedArrayBuffer made by createRingBuffer()', buffer);
  }
  return header;
}

/** Marks a ring closed and wakes its consumer; idempotent, callable from either side. */
function closeRing(header: Int32Array): void {
  Atomics.store(header, kClosed, 1); // makes the close visible to the consumer's ready checks
  wakeSleeper(header, kSleeping);
}

/**
 * The producing end of a ring. Only one thread may own it; all methods are for that thread.
 * Nothing here blocks; `tryWrite` copies the payload once and allocates nothing.
 */
export class RingWriter {
  readonly #header: Int32Array;
  readonly #words: Int32Array;
  readonly #bytes: Uint8Array;
  readonly #capacityBytes: number;
  readonly #mask: number;
  /** The largest payload `tryWrite` accepts; larger ones must travel another way. */
  readonly maxMessageBytes: number;
  #write: number;
  /** Last seen consumer index: refreshed only when the ring looks full, to spare a shared load. */
  #readSeen: number;
  #consumerWasAwake = false;

  constructor(buffer: SharedArrayBuffer) {
    this.#header = checkedHeader(buffer);
    this.#capacityBytes = Atomics.load(this.#header, kCapacity);
    this.#mask = this.#capacityBytes - 1;
    this.#words = new Int32Array(buffer, kRingHeaderBytes);
    this.#bytes = new Uint8Array(buffer, kRingHeaderBytes);
    this.maxMessageBytes = maxMessageBytesFor(this.#capacityBytes);
    this.#write = Atomics.load(this.#header, kWriteIndex);
    this.#readSeen = Atomics.load(this.#header, kReadIndex);
  }

  /**
   * Producer side. Appends `bytes[0, byteLength)` as one frame and wakes the consumer if it
   * sleeps (unless `wake` is false: then the producer must call `wakeConsumer()` later, or a
   * sleeping consumer sleeps on). Returns false, writing nothing, when the frame does not fit
   * now (the ring is too full: retry after the consumer reads) or never (`byteLength >
   * maxMessageBytes`: route it elsewhere). Never blocks, never allocates.
   */
  tryWrite(bytes: Uint8Array, byteLength: number = bytes.length, wake = true): boolean {
    const tooLarge = byteLength > this.maxMessageBytes;
    if (tooLarge || byteLength < 0 || byteLength > bytes.length) return false;
    const frameBytes = kFrameHeaderBytes + ((byteLength + 3) & ~3);
    const position = this.#write & this.#mask;
    const tailBytes = this.#capacityBytes - position;
    const neededBytes = frameBytes <= tailBytes ? frameBytes : tailBytes + frameBytes;
    if (!this.#hasRoom(neededBytes)) return false;
    let start = position;
    if (frameBytes > tailBytes) {
      this.#words[position >> 2] = kWrapMarker;
      start = 0;
    }
    this.#words[start >> 2] = byteLength;
    const payload = byteLength === bytes.length ? bytes : bytes.subarray(0, byteLength);
    this.#bytes.set(payload, start + kFrameHeaderBytes);
    this.#write = (this.#write + neededBytes) | 0;
    Atomics.store(this.#header, kWriteIndex, this.#write); // makes the frame (and any wrap marker) readable
    if (wake) this.#wake();
    return true;
  }

  /** Producer side. Wakes the consumer if it sleeps (after writes made with `wake` false). */
  wakeConsumer(): void {
    this.#wake();
  }

  /**
   * True when the last message sent with a wake found the consumer awake (spinning for it):
   * its answer, if it has one to give, is likely to come at once.
   */
  get consumerWasAwake(): boolean {
    return this.#consumerWasAwake;
  }

  #wake(): void {
    this.#consumerWasAwake = !wakeSleeper(this.#header, kSleeping);
  }

  #hasRoom(neededBytes: number): boolean {
    if (this.#capacityBytes - ((this.#write - this.#readSeen) | 0) >= neededBytes) return true;
    this.#readSeen = Atomics.load(this.#header, kReadIndex);
    return this.#capacityBytes - ((this.#write - this.#readSeen) | 0) >= neededBytes;
  }

  /**
   * Producer side. Counts one message sent beside the ring (e.g. over a MessagePort, posted
   * *before* this call) and wakes the consumer (unless `wake` is false, as for `tryWrite`),
   * which treats it as data to look at. A consumer parked listening on that route is not
   * notified: the message's arrival wakes it (sleep-flag.ts). Never blocks.
   */
  announceOutOfBand(wake = true): void {
    Atomics.add(this.#header, kOutOfBand, 1); // makes one more out-of-band message visible
    if (wake) this.#consumerWasAwake = !wakeSleeperBeside(this.#header, kSleeping);
  }

  /** Either side. Marks the ring closed and wakes the consumer. Idempotent. */
  close(): void {
    closeRing(this.#header);
  }

  /** Either side. True once `close()` was called on either end; may be stale by the time it returns. */
  get closed(): boolean {
    return Atomics.load(this.#header, kClosed) !== 0;
  }

  /** Data-area size in bytes. */
  get capacityBytes(): number {
    return this.#capacityBytes;
  }
}

/**
 * The consuming end of a ring. Only one thread may own it; all methods are for that thread.
 * `peek`/`release`/`tryRead` never block; the `spinFor`/`waitSync`/`waitAsync` family waits.
 */
export class RingReader {
  readonly #header: Int32Array;
  readonly #words: Int32Array;
  readonly #bytes: Uint8Array;
  readonly #mask: number;
  readonly #capacityBytes: number;
  #read: number;
  /** Bytes of the peeked frame (header and padding included), 0 when none is peeked. */
  #peekedFrameBytes = 0;
  #peekedPayloadBytes = -1;
  #payloadOffset = 0;
  #outOfBandTaken = 0;
  readonly #sleepFlag: SleepFlag;

  constructor(buffer: SharedArrayBuffer) {
    this.#header = checkedHeader(buffer);
    this.#capacityBytes = Atomics.load(this.#header, kCapacity);
    this.#mask = this.#capacityBytes - 1;
    this.#words = new Int32Array(buffer, kRingHeaderBytes);
    this.#bytes = new Uint8Array(buffer, kRingHeaderBytes);
    this.#read = Atomics.load(this.#header, kReadIndex);
    // Not kOutOfBand: the producer may have announced messages before this reader existed.
    this.#outOfBandTaken = Atomics.load(this.#header, kOutOfBandTaken);
    this.#sleepFlag = new SleepFlag(this.#header, kSleeping, () => this.ready());
  }

  /**
   * Consumer side. The payload length of the oldest unread frame, or -1 when the ring is empty.
   * The payload is `new Uint8Array(buffer, payloadOffset, length)`; it stays valid and
   * unchanged until `release()` (the producer cannot reuse the space before). Calling `peek`
   * again before `release` returns the same frame. Never blocks, never allocates.
   */
  peek(): number {
    if (this.#peekedFrameBytes !== 0) return this.#peekedPayloadBytes;
    if (Atomics.load(this.#header, kWriteIndex) === this.#read) return -1;
    let position = this.#read & this.#mask;
    let payloadBytes = this.#frameLengthAt(position);
    if (payloadBytes === kWrapMarker) {
      // Skipped locally; the space is handed back to the producer with the next release().
      // The producer published the marker and the frame at offset 0 with one store.
      this.#read = (this.#read + this.#capacityBytes - position) | 0;
      position = 0;
      payloadBytes = this.#frameLengthAt(0);
    }
    this.#peekedPayloadBytes = payloadBytes;
    this.#peekedFrameBytes = kFrameHeaderBytes + ((payloadBytes + 3) & ~3);
    this.#payloadOffset = kRingHeaderBytes + position + kFrameHeaderBytes;
    return payloadBytes;
  }

  #frameLengthAt(position: number): number {
    // Plain read: ordered after the Atomics.load of kWriteIndex that showed this frame.
    return this.#words[position >> 2] ?? kWrapMarker;
  }

  /** Byte offset, within the SharedArrayBuffer, of the payload returned by the last `peek()`. */
  get payloadOffset(): number {
    return this.#payloadOffset;
  }

  /** Consumer side. Hands the peeked frame's space back to the producer. Never blocks. */
  release(): void {
    if (this.#peekedFrameBytes === 0) return;
    this.#read = (this.#read + this.#peekedFrameBytes) | 0;
    this.#peekedFrameBytes = 0;
    this.#peekedPayloadBytes = -1;
    Atomics.store(this.#header, kReadIndex, this.#read); // makes the frame's space writable again
  }

  /**
   * Consumer side. Removes the oldest frame and returns a copy of its payload (a fresh,
   * non-shared buffer the caller owns), or undefined when the ring is empty. Allocates the copy.
   */
  tryRead(): Uint8Array | undefined {
    const payloadBytes = this.peek();
    if (payloadBytes < 0) return undefined;
    const start = this.#payloadOffset - kRingHeaderBytes;
    const copy = this.#bytes.slice(start, start + payloadBytes);
    this.release();
    return copy;
  }

  /**
   * Consumer side. Out-of-band messages announced by the producer and not yet taken; -1 for a
   * moment when one was taken as it arrived, before the producer's announcement.
   */
  outOfBandPending(): number {
    return (Atomics.load(this.#header, kOutOfBand) - this.#outOfBandTaken) | 0;
  }

  /** Consumer side. Records that one announced out-of-band message has been taken. */
  takeOutOfBand(): void {
    this.#outOfBandTaken = (this.#outOfBandTaken + 1) | 0;
    Atomics.store(this.#header, kOutOfBandTaken, this.#outOfBandTaken); // for a later reader of this ring
  }

  /** Either side. Marks the ring closed and wakes the consumer (this side's own waits too). */
  close(): void {
    closeRing(this.#header);
  }

  /** True once either end closed the ring; may be stale by the time it returns. */
  get closed(): boolean {
    return Atomics.load(this.#header, kClosed) !== 0;
  }

  /**
   * Consumer side. True when there is something to look at: a frame, an out-of-band message, or
   * a close. Never blocks; the answer can be stale (false just before the producer publishes).
   */
  ready(): boolean {
    return (
      this.#peekedFrameBytes !== 0 ||
      Atomics.load(this.#header, kWriteIndex) !== this.#read ||
      ((Atomics.load(this.#header, kOutOfBand) - this.#outOfBandTaken) | 0) > 0 ||
      Atomics.load(this.#header, kClosed) !== 0
    );
  }

  /**
   * Consumer side. Polls `ready()` for at most `maxUs` microseconds without sleeping (the
   * thread stays busy, its event loop blocked, for up to that long). Returns `ready()`.
   * Never allocates.
   */
  spinFor(maxUs: number): boolean {
    return this.#sleepFlag.spinFor(maxUs);
  }

  /**
   * Consumer side, worker threads (it blocks the thread, event loop included). Sleeps in
   * `Atomics.wait` until `ready()` or `timeoutMs` elapsed (Infinity: no limit). Returns `ready()`.
   */
  waitSync(timeoutMs: number = Infinity): boolean {
    return this.#sleepFlag.waitSync(timeoutMs);
  }

  /**
   * Consumer side, any thread; the event loop keeps running. Resolves with `ready()` once ready
   * or after `timeoutMs` (Infinity: no limit). One wait at a time per ring. Allocates a promise
   * per sleep, and a timer when timed. With `keepAlive` (default true) the wait keeps the thread's event
   * loop alive like a pending timer; without, a pending wait lets the thread exit. `beside`: a
   * side route whose arrivals end the wait by themselves (its sender then skips the notify);
   * the result is then true also when a message arrived there.
   */
  waitAsync(
    timeoutMs: number = Infinity,
    options: { keepAlive?: boolean; beside?: SideWake | undefined } = {},
  ): Promise<boolean> {
    return this.#sleepFlag.waitAsync(timeoutMs, options.keepAlive ?? true, options.beside);
  }

  /** Data-area size in bytes. */
  get capacityBytes(): number {
    return this.#capacityBytes;
  }
}
