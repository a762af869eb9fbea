/**
 * Wait and wake on an Int32 word of shared memory, wherever it lives: `Atomics.wait`,
 * `Atomics.notify` and `Atomics.waitAsync` for V8's own SharedArrayBuffers, the addon's futex
 * calls for memory the addon mapped (which another process may map too). Every waiter and every
 * waker of one word must use the same mechanism, and the memory decides which, so keel's code
 * waits and wakes only through these three functions. Shared by both sides.
 *
 * Semantics follow Atomics: a wait returns 'not-equal' at once when the word does not hold
 * `expected`; 'ok' after a wake (or, for native memory, when the word changed: callers re-check,
 * as they must after any wake); 'timed-out' after `timeoutMs` (Infinity: never).
 */
import { isNativeMemory, native } from './native.js';

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

/** Blocks the calling thread, like `Atomics.wait` (also allowed on Node's main thread). */
export function waitWord(
  words: Int32Array,
  index: number,
  expected: number,
  timeoutMs = Infinity,
): WordWaitResult {
  if (native && isNativeMemory(words)) return native.wait(words, index, expected, timeoutMs);
  return Atomics.wait(words, index, expected, timeoutMs);
}

/** Wakes up to `count` waiters of the word (in any process, for native memory); returns how many. */
export function wakeWord(words: Int32Array, index: number, count = Infinity): number {
  if (native && isNativeMemory(words)) return native.wake(words, index, count);
  return Atomics.notify(words, index, count);
}

/**
 * Like `Atomics.waitAsync`: the event loop runs meanwhile. `keepAlive` (native memory only)
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
  if (native && isNativeMemory(words)) {
    if (Atomics.load(words, index) !== expected) return { async: false, value: 'not-equal' };
    if (timeoutMs <= 0) return { async: false, value: 'timed-out' };
    return { async: true, value: native.waitAsync(words, index, expected, timeoutMs, keepAlive) };
  }
  return atomicsWaitAsync(words, index, expected, timeoutMs);
}
