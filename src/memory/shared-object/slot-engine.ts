/**
 * The consistency engine of one SharedObject handle: triple-buffered copies, reader pins and
 * per-copy sequence numbers (a seqlock that readers rarely need), a writers' lock (writer-lock.ts:
 * a futex word in one process, a robust mutex across processes), and the change counter behind
 * modified / triggered / changed(). docs/processes.md lists the steps (Node and Python follow
 * them alike); docs/shared-object.md argues why readers never see a torn value and why a writer never waits on a reader for more than one copy. Every method may be called on any thread; none allocates except the values it returns.
 */
import { bindLayout, type BoundLayout } from './bound-layouts.js';
import {
  headerViews,
  kCopyCount,
  kMtimeBigWord,
  kWord,
  readGeometry,
  type SlotGeometry,
} from './layout.js';
import { repairAfterDeadWriter } from './slot-repair.js';
import { writerLockFor, type WriterLock } from './writer-lock.js';
import { ChangeWaiters, type WaitForChangeOptions } from './change-waiters.js';
import { copyBytes } from '../copy-bytes.js';
const kMinCopyEstimateMs = 0.005;
/** The target of a read() that allocates its result (readInto gets the caller's). */
const kFreshResult: object = Object.freeze({});

export class SlotEngine {
  readonly geometry: SlotGeometry;
  readonly #words: Int32Array;
  readonly #big: BigInt64Array;
  readonly #bound: BoundLayout;
  /** The raw bytes of each copy. */
  readonly #copyBytes: Uint8Array[];
  readonly #waiters: ChangeWaiters;
  readonly #writerLock: WriterLock;
  /** How long this handle's last write of a copy took: the bound of a writer's wait on readers. */
  #copyEstimateMs: number;
  /** The change counter value this handle last read (fetch, triggered, open). */
  #seenVersion: number;

  /** `geometry`: given by a creator whose slot is not complete yet (no magic); read otherwise. */
  constructor(name: string, buffer: SharedArrayBuffer, geometry?: SlotGeometry) {
    this.geometry = geometry ?? readGeometry(buffer);
    const { words, big } = headerViews(buffer);
    this.#words = words;
    this.#big = big;
    const { copyOffsetBytes, copyStrideBytes, descriptor } = this.geometry;
    const bases = Array.from(
      { length: kCopyCount },
      (_, copy) => copyOffsetBytes + copy * copyStrideBytes,
    );
    this.#bound = bindLayout(descriptor.layout, buffer, bases);
    this.#copyBytes = bases.map((base) => new Uint8Array(buffer, base, descriptor.valueBytes));
    this.#waiters = new ChangeWaiters(name, words, kWord.version, kWord.waiters);
    this.#copyEstimateMs = Math.max(kMinCopyEstimateMs, descriptor.valueBytes / 1e6);
    // 100 MB/s is far below any memcpy: only a writer that died mid-assign holds the lock so long.
    this.#writerLock = writerLockFor(name, buffer, words, 2000 + descriptor.valueBytes / 1e5);
    this.#seenVersion = Atomics.load(words, kWord.version);
  }

  /** Writes the first value into copy 0 of a slot nobody else can see yet. Creator only. */
  initialize(value: unknown): void {
    this.#bound.write(0, value);
    // The slot is published later, by a message (registry or clone) in one process, by the
    // magic's store (layout.ts, publishSlot) across processes: either orders these stores
    // before any reader's first load.
    Atomics.store(this.#big, kMtimeBigWord, process.hrtime.bigint());
  }

  /** The current change counter. Any side; may be stale as soon as it returns. */
  version(): number {
    return Atomics.load(this.#words, kWord.version);
  }

  /** True when the change counter moved since this handle last read. Does not mark it seen. */
  modified(): boolean {
    return Atomics.load(this.#words, kWord.version) !== this.#seenVersion;
  }

  /** Like modified(), and marks the current change seen. */
  consumeChange(): boolean {
    const version = Atomics.load(this.#words, kWord.version);
    const changed = version !== this.#seenVersion;
    this.#seenVersion = version;
    return changed;
  }

  /** Nanoseconds (CLOCK_MONOTONIC, as process.hrtime.bigint()) of the last assign or trigger. */
  mtime(): bigint {
    return Atomics.load(this.#big, kMtimeBigWord);
  }

  /**
   * A caller-owned copy of the latest value; never torn. Lock-free: it retries only when a
   * writer, finding every spare copy pinned for longer than one copy's time, overwrote the copy
   * being read (see docs/shared-object.md). Never blocks.
   */
  read(): unknown {
    return this.#readValidated(kFreshResult);
  }

  /**
   * Copies the latest value into `target` (a caller-owned value that fits the layout, see
   * BoundLayout.readInto), with read()'s protocol: a copy that fails validation is copied again,
   * so `target` ends holding one whole value. Allocates nothing for TypedArrays. Never blocks.
   */
  readInto(target: object): void {
    this.#readValidated(target);
  }

  /** read() and readInto(): pin the latest copy, read it, keep the result only if no writer forced its way in. */
  #readValidated(target: object): unknown {
    const words = this.#words;
    for (;;) {
      // The counter is read first, so the value read below is at least as new as it claims.
      const version = Atomics.load(words, kWord.version);
      const copy = Atomics.load(words, kWord.latest);
      const seq = this.#pin(copy);
      if (seq === -1) continue;
      let value: unknown;
      let untouched: boolean;
      try {
        value =
          target === kFreshResult ? this.#bound.read(copy) : this.#bound.readInto(copy, target);
      } finally {
        untouched = this.#unpin(copy, seq);
      }
      if (untouched) {
        this.#seenVersion = version;
        return value;
      }
    }
  }

  /**
   * Applies `fn` to a zero-copy view of the latest value while its copy stays pinned. If a
   * forced writer overwrote the copy meanwhile, `fn`'s result (or error) is discarded and `fn`
   * runs again on a private copy, so it always answers for one consistent value.
   */
  visit<R>(fn: (view: unknown) => R): R {
    const words = this.#words;
    const version = Atomics.load(words, kWord.version);
    const copy = Atomics.load(words, kWord.latest);
    const seq = this.#pin(copy);
    if (seq === -1) return fn(this.read());
    let result: R | undefined;
    let failure: { error: unknown } | undefined;
    let untouched: boolean;
    try {
      result = fn(this.#bound.view(copy));
    } catch (error) {
      failure = { error };
    } finally {
      untouched = this.#unpin(copy, seq);
    }
    if (!untouched) return fn(this.read());
    this.#seenVersion = version;
    if (failure) throw failure.error;
    return result as R;
  }

  /**
   * Ends a read of `copy` begun by `#pin` (which returned `seq`): true when no writer changed
   * the copy meanwhile. The check comes before the unpin: once unpinned, the copy is a spare a
   * writer may claim at once, and a check after that (a reader paused between the two) would
   * throw away a whole, consistent read. The no-op read-modify-write first keeps the data reads
   * above the check on ARMv8 (its release half); on x86-64 loads are never reordered anyway.
   */
  #unpin(copy: number, seq: number): boolean {
    const words = this.#words;
    Atomics.add(words, kWord.pins + copy, 0);
    const untouched = Atomics.load(words, kWord.seq + copy) === seq;
    Atomics.sub(words, kWord.pins + copy, 1);
    return untouched;
  }

  /**
   * Reader side of the handshake with writers: pins `copy`, then looks at its claim. Returns the
   * copy's (even) sequence with the pin held, or -1 with the pin released when a writer has
   * claimed the copy or is writing it.
   */
  #pin(copy: number): number {
    const words = this.#words;
    Atomics.add(words, kWord.pins + copy, 1);
    // The claim before the sequence: a claim seen clear means either no writer can claim this
    // copy while the pin stands, or a writer already finished it, so the sequence read next is
    // final. Read the other way round, a reader paused between the two loads for a whole write
    // could take the sequence from before that write and fail its validation for nothing.
    const claimed = Atomics.load(words, kWord.claims + copy) !== 0;
    const seq = Atomics.load(words, kWord.seq + copy);
    if (!claimed && (seq & 1) === 0) return seq;
    Atomics.sub(words, kWord.pins + copy, 1);
    return -1;
  }

  /** Publishes a value that passed the layout check. Takes the writer lock (may block, bounded). */
  write(value: unknown): void {
    this.#lock();
    try {
      const copy = this.#claimCopy();
      const seq = Atomics.load(this.#words, kWord.seq + copy);
      // Odd while the bytes change: a reader that pinned this copy before a forced claim fails
      // its validation (no other reader can be in it: they pin, then see the claim).
      Atomics.store(this.#words, kWord.seq + copy, seq + 1);
      // A sequentially consistent load after that store keeps the data stores below from
      // becoming visible before the odd sequence (free on x86; needed on ARMv8).
      Atomics.load(this.#words, kWord.seq + copy);
      const startMs = performance.now();
      try {
        this.#bound.write(copy, value);
      } catch (error) {
        // Only a getter of the value can throw here. A reader that read `latest` long ago may
        // still pin this copy, so it must hold a whole value before it turns even again.
        copyBytes(
          this.#copyBytes[copy] as Uint8Array,
          this.#copyBytes[Atomics.load(this.#words, kWord.latest)] as Uint8Array,
        );
        throw error;
      } finally {
        // Even again and unclaimed: the copy holds a whole value (readers may pin it).
        Atomics.store(this.#words, kWord.seq + copy, seq + 2);
        Atomics.store(this.#words, kWord.claims + copy, 0);
      }
      // At most doubling per write: one write slowed by preemption does not make a writer wait long.
      const elapsedMs = performance.now() - startMs;
      this.#copyEstimateMs = Math.max(
        kMinCopyEstimateMs,
        Math.min(elapsedMs, 2 * this.#copyEstimateMs),
      );
      const version = this.#bumpLocked();
      Atomics.store(this.#words, kWord.published + copy, version);
      // Makes the new copy the one readers pin from now on.
      Atomics.store(this.#words, kWord.latest, copy);
      this.#seenVersion = this.#announceLocked(version);
    } finally {
      this.#unlock();
    }
  }

  /** Moves the change counter and mtime without data (a trigger). Takes the writer lock. */
  trigger(): void {
    this.#lock();
    try {
      this.#announceLocked(this.#bumpLocked());
    } finally {
      this.#unlock();
    }
  }

  /** Resolves on the next change after the call; see ChangeWaiters. */
  waitForChange(options: WaitForChangeOptions): Promise<void> {
    return this.#waiters.waitForChange(this.version(), options);
  }

  /** Rejects this handle's pending waits with `reason` (on close). */
  close(reason: unknown): void {
    this.#waiters.rejectAll(reason);
  }

  /** The next version and a strictly increasing mtime, not yet visible. Under the lock. */
  #bumpLocked(): number {
    const now = process.hrtime.bigint();
    const last = Atomics.load(this.#big, kMtimeBigWord);
    Atomics.store(this.#big, kMtimeBigWord, now > last ? now : last + 1n);
    return (Atomics.load(this.#words, kWord.version) + 1) | 0;
  }

  /** Makes `version` visible to modified / triggered / changed() and wakes waiters. */
  #announceLocked(version: number): number {
    Atomics.store(this.#words, kWord.version, version);
    this.#waiters.notifyIfWaiting();
    return version;
  }

  /**
   * Picks a copy to write and claims it. Prefers the older spare copy (not `latest`) that no
   * reader pins; if both are pinned, waits up to one copy's time for a pin to drop, then takes
   * the older one anyway: its readers fail validation and retry on the latest copy.
   */
  #claimCopy(): number {
    const words = this.#words;
    const latest = Atomics.load(words, kWord.latest);
    const first = (latest + 1) % kCopyCount;
    const second = (latest + 2) % kCopyCount;
    const age =
      (Atomics.load(words, kWord.published + first) -
        Atomics.load(words, kWord.published + second)) |
      0;
    const older = age <= 0 ? first : second;
    const newer = age <= 0 ? second : first;
    if (this.#tryClaim(older)) return older;
    if (this.#tryClaim(newer)) return newer;
    return this.#claimAfterWaiting(older, newer);
  }

  /**
   * Writer side of a Dekker handshake with readers: the writer raises the copy's claim, then
   * looks at its pins; a reader pins, then looks at the claim. Sequentially consistent atomics
   * guarantee that at least one sees the other, so a writer that finds no pin writes a copy no
   * reader is reading, and a reader that pins too late sees the claim and goes elsewhere. The
   * sequence number is not touched unless bytes change, so a backing-off writer never makes a
   * reader's validation fail.
   */
  #tryClaim(copy: number): boolean {
    if (Atomics.load(this.#words, kWord.pins + copy) !== 0) return false;
    Atomics.store(this.#words, kWord.claims + copy, 1);
    if (Atomics.load(this.#words, kWord.pins + copy) === 0) return true;
    Atomics.store(this.#words, kWord.claims + copy, 0);
    return false;
  }

  #claimAfterWaiting(older: number, newer: number): number {
    const deadlineMs = performance.now() + this.#copyEstimateMs;
    do {
      if (this.#tryClaim(older)) return older;
      if (this.#tryClaim(newer)) return newer;
    } while (performance.now() < deadlineMs);
    // Forced: the readers pinning `older` see its sequence move and retry on the latest copy.
    Atomics.store(this.#words, kWord.claims + older, 1);
    return older;
  }

  /** Takes the writers' lock; after a writer died holding it, repairs what it left (slot-repair.ts). */
  #lock(): void {
    if (this.#writerLock.lock() === 'locked') return;
    try {
      repairAfterDeadWriter(this.#words, this.#copyBytes);
      this.#announceLocked(this.#bumpLocked());
    } catch (error) {
      this.#writerLock.unlock();
      throw error;
    }
  }

  #unlock(): void {
    this.#writerLock.unlock();
  }
}
