/**
 * The writers' lock of a slot, of the kind its header names (layout.ts, `lockKind`): a futex
 * word for a process-scope slot, whose writers are threads of one process; the addon's robust
 * mutex for a machine-scope slot, whose writers may be killed in other processes. Both are held
 * for one copy of the value (plus the announcement), and both give up after a timeout long enough
 * that only a stuck holder reaches it. Writer side only; `lock` may block (bounded).
 */
import { KeelError } from '../../errors.js';
import { requireNative, type NativeBinding } from '../../platform/native.js';
import { waitWord, wakeWord } from '../../platform/wait-word.js';
import { kLockRobustMutex, kWord, slotLockKind } from './layout.js';

/** 'recovered': the previous holder died holding the lock; the caller repairs the slot first. */
export type LockResult = 'locked' | 'recovered';

export interface WriterLock {
  /** Takes the lock; ERR_TIMEOUT after the lock's timeout. */
  lock(): LockResult;
  /** Releases it. Only by the thread that took it. */
  unlock(): void;
}

// A writer spins this many times on a taken lock before sleeping: a lock is held for one copy,
// often shorter than a futex sleep plus wake-up (tens of microseconds on a loaded machine).
const kLockSpins = 200;

/** The lock the slot in `buffer` uses, as seen by the handle of the slot `name`. */
export function writerLockFor(
  name: string,
  buffer: SharedArrayBuffer,
  words: Int32Array,
  timeoutMs: number,
): WriterLock {
  return slotLockKind(buffer) === kLockRobustMutex
    ? new RobustMutexLock(name, words, timeoutMs)
    : new FutexWordLock(name, words, timeoutMs);
}

function timeoutError(name: string, timeoutMs: number, why: string): KeelError {
  return new KeelError(
    'ERR_TIMEOUT',
    `SharedObject "${name}": the write lock stayed taken for ${Math.round(timeoutMs)} ms (${why})`,
  );
}

/** Futex mutex on the `lock` word (0 free, 1 taken, 2 taken with sleepers), after a short spin. */
class FutexWordLock implements WriterLock {
  readonly #name: string;
  readonly #words: Int32Array;
  readonly #timeoutMs: number;

  constructor(name: string, words: Int32Array, timeoutMs: number) {
    this.#name = name;
    this.#words = words;
    this.#timeoutMs = timeoutMs;
  }

  lock(): LockResult {
    if (Atomics.compareExchange(this.#words, kWord.lock, 0, 1) !== 0) this.#lockContended();
    return 'locked';
  }

  #lockContended(): void {
    const words = this.#words;
    for (let spin = 0; spin < kLockSpins; spin++) {
      if (
        Atomics.load(words, kWord.lock) === 0 &&
        Atomics.compareExchange(words, kWord.lock, 0, 1) === 0
      )
        return;
    }
    const deadlineMs = performance.now() + this.#timeoutMs;
    while (Atomics.exchange(words, kWord.lock, 2) !== 0) {
      const remainingMs = deadlineMs - performance.now();
      if (remainingMs <= 0) {
        throw timeoutError(
          this.#name,
          this.#timeoutMs,
          'a thread that died in the middle of assign() leaves it taken',
        );
      }
      waitWord(words, kWord.lock, 2, remainingMs);
    }
  }

  unlock(): void {
    if (Atomics.sub(this.#words, kWord.lock, 1) !== 1) {
      Atomics.store(this.#words, kWord.lock, 0);
      wakeWord(this.#words, kWord.lock, 1);
    }
  }
}

/**
 * The addon's process-shared robust pthread mutex at header word `mutex`. A holder killed at any
 * instruction is seen by the kernel (the thread's robust list), so the next locker gets
 * 'recovered' at once instead of waiting for the timeout.
 */
class RobustMutexLock implements WriterLock {
  readonly #name: string;
  readonly #words: Int32Array;
  readonly #timeoutMs: number;
  readonly #native: NativeBinding;

  constructor(name: string, words: Int32Array, timeoutMs: number) {
    this.#name = name;
    this.#words = words;
    this.#timeoutMs = timeoutMs;
    this.#native = requireNative('a machine-scope SharedObject');
  }

  lock(): LockResult {
    const result = this.#native.mutexLock(this.#words, kWord.mutex, this.#timeoutMs);
    if (result === 'timed-out') {
      throw timeoutError(this.#name, this.#timeoutMs, 'another process holds it without progress');
    }
    return result;
  }

  unlock(): void {
    this.#native.mutexUnlock(this.#words, kWord.mutex);
  }
}
