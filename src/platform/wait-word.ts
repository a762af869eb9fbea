/**
 * Wait and wake on an Int32 word of shared memory: the addon's futex calls when keel's native
 * layer is loaded, `Atomics.wait`, `Atomics.notify` and `Atomics.waitAsync` otherwise. Every
 * waiter and every waker of one word must use the same mechanism, so keel's code waits and
 * wakes only through these three functions, and every thread of a process makes the same choice
 * (a keel thread inherits its caller's `KEEL_NATIVE`, transport/caller/thread.ts). Shared by
 * both sides.
 *
 * Why the kernel's futex even between threads: V8 keeps the waiters of every `Atomics` wait in
 * one list guarded by one process-wide mutex, which `Atomics.notify` holds while it posts the
 * wake-ups of async waiters. A `'background'` (SCHED_IDLE) thread preempted while it holds that
 * mutex stalls every other thread that waits or wakes, the main thread's event loop included
 * (it takes the mutex to settle its `Atomics.waitAsync` promises): waits of 1-27 ms in a
 * scheduler trace of the realtime scene (docs/design-notes.md). A futex is the kernel's, with
 * no lock a preempted thread can hold; and it is the one mechanism that also reaches memory
 * another process maps.
 *
 * Semantics follow Atomics: a wait returns 'not-equal' at once when the word does not hold
 * `expected`; 'ok' after a wake (or, with the futex, when the word changed: callers re-check,
 * as they must after any wake); 'timed-out' after `timeoutMs` (Infinity: never).
 */
import { native } from './native.js';

export type WordWaitResult = 'ok' | 'not-equal' | 'timed-out';

export type WordWaitAsyncResult =
  | { readonly async: false; readonly value: 'not-equal' | 'timed-out' }
  | { readonly async: true; readonly value: Promise<'ok' | 'timed-out'> };

type AtomicsWaitAsync = (
  typedArray: Int32Array,
  index: number,
  value: number,
  timeoutMs?: number,
) => WordWaitAsyncResult;

// In Node since 16; typed only from lib ES2024, this project compiles against ES2023.
const atomicsWaitAsync = (Atomics as unknown as { waitAsync: AtomicsWaitAsync }).waitAsync;

/**
 * The longest a futex wait blocks the thread in one piece. `worker.terminate()` interrupts an
 * `Atomics.wait` but not a system call: the thread only sees the termination when the call
 * returns to JavaScript, so a long wait is made of slices, and a terminated thread ends within
 * one (an idle thread pays a wake-up per slice).
 */
const kSyncWaitSliceMs = 50;

/** Blocks the calling thread, like `Atomics.wait` (also allowed on Node's main thread). */
export function waitWord(
  words: Int32Array,
  index: number,
  expected: number,
  timeoutMs = Infinity,
): WordWaitResult {
  if (!native) return Atomics.wait(words, index, expected, timeoutMs);
  expected |= 0; // as Atomics reads it (ToInt32); the addon takes only int32 values
  if (timeoutMs <= kSyncWaitSliceMs) return native.wait(words, index, expected, timeoutMs);
  const deadlineMs = performance.now() + timeoutMs;
  let result = native.wait(words, index, expected, kSyncWaitSliceMs);
  while (result === 'timed-out') {
    const leftMs = deadlineMs - performance.now();
    if (leftMs <= 0) return 'timed-out';
    result = native.wait(words, index, expected, Math.min(leftMs, kSyncWaitSliceMs));
    // The word changed between two slices: for the caller, a wake during its wait.
    if (result === 'not-equal') return 'ok';
  }
  return result;
}

/** Wakes up to `count` waiters of the word (in any process, with the futex); returns how many. */
export function wakeWord(words: Int32Array, index: number, count = Infinity): number {
  if (native) return native.wake(words, index, count);
  return Atomics.notify(words, index, count);
}

/**
 * Like `Atomics.waitAsync`: the event loop runs meanwhile. `keepAlive` (the futex only)
 * keeps the event loop alive until the wait settles; a pending `Atomics.waitAsync` never does on
 * Node 20, so callers that need that hold a timer of their own, for either kind.
 */
export function waitWordAsync(
  words: Int32Array,
  index: number,
  expected: number,
  timeoutMs = Infinity,
  keepAlive = false,
): WordWaitAsyncResult {
  if (native) {
    expected |= 0; // as Atomics reads it (ToInt32)
    if (Atomics.load(words, index) !== expected) return { async: false, value: 'not-equal' };
    if (timeoutMs <= 0) return { async: false, value: 'timed-out' };
    return { async: true, value: native.waitAsync(words, index, expected, timeoutMs, keepAlive) };
  }
  return atomicsWaitAsync(words, index, expected, timeoutMs);
}
