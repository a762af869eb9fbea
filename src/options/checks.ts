/**
 * The checks every public entry point runs on its options before it acts: one wording, one rule
 * per kind of value, so that `maxThreads` on a Pool and `numWorkers` on a DataLoader refuse the
 * same nonsense with the same kind of message (docs/errors.md, "Options"). Shared by both sides:
 * no I/O, no Node modules but `node:os` for the machine's size.
 */
import { availableParallelism, totalmem } from 'node:os';
import { invalidArgument } from '../errors.js';

/**
 * The most threads (or processes) one pool, loader or team may run: far above any useful count
 * on this machine, far below what freezes it. Each Node thread costs ~10 MB and a few ms to
 * start; thousands of them exhaust memory before they do any work.
 */
export const kMaxThreads = Math.max(64, 16 * availableParallelism());

/**
 * The most shared memory one arena or slot may ask for: the machine's physical memory. A larger
 * request cannot be backed, and V8 answers it with a RangeError or by swapping the machine dead.
 */
export const kMaxSharedBytes = totalmem();

/**
 * Throws unless `value` is an integer >= `min` (and <= `max` when given). A bounded range is
 * named whole ("an integer from 1 to 99") whichever end was crossed.
 */
export function checkInteger(name: string, value: unknown, min: number, max = Infinity): number {
  const integer = typeof value === 'number' && Number.isInteger(value);
  if (integer && value >= min && value <= max) return value;
  let expected: string;
  if (max !== Infinity) expected = `an integer from ${min} to ${max}`;
  else expected = min === 1 ? 'a positive integer' : `an integer >= ${min}`;
  throw invalidArgument(name, expected, value);
}

/** Throws unless `value` is a finite number >= 0. */
export function checkNonNegative(name: string, value: unknown): number {
  if (typeof value !== 'number' || !(value >= 0) || value === Infinity) {
    throw invalidArgument(name, 'a finite number >= 0', value);
  }
  return value;
}

/**
 * A thread or process count: an integer from `min` to kMaxThreads. The bound is what keeps
 * `maxThreads: 1e9` from freezing the event loop while it starts threads.
 */
export function checkThreadCount(name: string, value: unknown, min: number): number {
  if (typeof value === 'number' && Number.isInteger(value) && value > kMaxThreads) {
    throw invalidArgument(
      name,
      `at most ${kMaxThreads} (16 per CPU of this machine, at least 64)`,
      value,
    );
  }
  return checkInteger(name, value, min);
}

/**
 * A timeout in milliseconds: `undefined` (none), `Infinity` (none, said explicitly) or a number
 * >= 0, however large (timers/long-timeout.ts honours it past setTimeout's 2^31 - 1 ms).
 * NaN, negatives and strings are refused: they used to fire at once.
 */
export function checkTimeoutMs(name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !(value >= 0)) {
    throw invalidArgument(name, 'a number of milliseconds >= 0 (Infinity for none)', value);
  }
  return value;
}

/** A byte size of shared memory: an integer from `min` to the machine's memory. */
export function checkSharedBytes(name: string, value: unknown, min: number): number {
  checkInteger(name, value, min);
  if ((value as number) > kMaxSharedBytes) {
    throw invalidArgument(name, `at most this machine's memory (${kMaxSharedBytes} bytes)`, value);
  }
  return value as number;
}

/** Throws unless `value` is undefined or a boolean. */
export function checkBoolean(name: string, value: unknown): boolean | undefined {
  if (value !== undefined && typeof value !== 'boolean') {
    throw invalidArgument(name, 'a boolean', value);
  }
  return value;
}

/** Throws unless `value` is undefined or an AbortSignal. */
export function checkSignal(name: string, value: unknown): AbortSignal | undefined {
  if (value !== undefined && !(value instanceof AbortSignal)) {
    throw invalidArgument(name, 'an AbortSignal', value);
  }
  return value;
}

/** Throws unless `value` is undefined or a function. */
export function checkFunction(name: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'function') {
    throw invalidArgument(name, 'a function', value);
  }
}

/** `execArgv`: an array of strings (Node checks the flags themselves when the worker starts). */
export function checkExecArgv(value: unknown): readonly string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((flag) => typeof flag === 'string')) {
    throw invalidArgument('execArgv', 'an array of strings', value);
  }
  return value;
}

/** `env`: an object whose values are strings (or undefined, which leaves the variable out). */
export function checkEnv(value: unknown): Readonly<Record<string, string | undefined>> | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidArgument('env', 'an object of strings', value);
  }
  for (const [key, item] of Object.entries(value)) {
    if (item !== undefined && typeof item !== 'string') {
      throw invalidArgument(`env.${key}`, 'a string', item);
    }
  }
  return value as Readonly<Record<string, string | undefined>>;
}
