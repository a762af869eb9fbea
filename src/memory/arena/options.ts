/**
 * The public option, stats and shared-data types of `Arena`, and the validation of arguments
 * (each message names the option, what was expected and what was received).
 */

import { invalidArgument } from '../../errors.js';
import { checkSharedBytes, checkSignal, checkTimeoutMs } from '../../options/checks.js';
import { checkOptions, type OptionKeys } from '../../options/known-keys.js';
import type { MemorySizes } from './memory.js';

/** Options of `new Arena(...)`. */
export interface ArenaOptions {
  /** Capacity of the data area in bytes, rounded down to whole blocks. Default 64 MiB. */
  readonly bytes?: number;
  /** Binary leaves of at least this many bytes go through the arena. Default 65536 (64 KiB). */
  readonly minBytes?: number;
  /**
   * Allocation granule: a power of two, at least 64. Default 4096, or less when `minBytes` is
   * small (minBytes / 16, at least 64), so that rounding wastes at most about 6 %.
   */
  readonly blockBytes?: number;
  /** Units that may hold space at once. Default: the number of blocks, at most 65536. */
  readonly maxUnits?: number;
}

/** `{ signal, timeoutMs }` of the waiting variants. `timeoutMs` defaults to no limit. */
export interface ArenaWaitOptions {
  /** Aborting rejects the wait with the signal's reason. */
  readonly signal?: AbortSignal;
  /** Rejects with ERR_TIMEOUT after this many ms. Default: no limit (Infinity says so too). */
  readonly timeoutMs?: number;
}

/** Arena-wide counters (all threads). Stale as soon as read. */
export interface ArenaStats {
  /** Capacity of the data area. */
  readonly bytes: number;
  /** Bytes held by units being written, in flight or held by readers (whole blocks). */
  readonly bytesInUse: number;
  /** The most bytes ever in use at once. */
  readonly highWaterBytes: number;
  /** Units holding space. */
  readonly units: number;
  /** Leaves (or groups of aliasing leaves) that crossed by copying instead: full or too large. */
  readonly fallbacks: number;
  /** Writers that had to wait for space. */
  readonly waits: number;
}

/** What `share()` returns: post it (workerData or a message), then `Arena.fromShared(data)`. */
export interface ArenaShared {
  /** Marks the object as arena data, so that `Arena.fromShared` can check what it was given. */
  readonly kind: 'keel.arena';
  /** The arena's memory: header, unit table and data area. */
  readonly buffer: SharedArrayBuffer;
  /** The id of the handle built from this data; `reclaimHandle(id)` once its thread exited. */
  readonly handleId: number;
}

/**
 * A committed unit of the unit protocol (`commitUnit`), as its reader needs it: plain data, to
 * post with the message that tells the reader where its leaves are.
 */
export interface ArenaTicket {
  /** The arena the unit lives in: a ticket of another arena is refused. */
  readonly arenaId: number;
  /** The unit's slot; -1 for a unit that reserved nothing (ending it is a no-op). */
  readonly slot: number;
  /** The unit slot's generation when the ticket was made: a stale ticket is refused. */
  readonly generation: number;
  /** Flat pairs (first block, block count) of the unit's regions in the data area. */
  readonly regions: readonly number[];
}

const kDefaultBytes = 64 * 2 ** 20;
const kDefaultMinBytes = 65536;
const kMaxInt32 = 2 ** 31 - 1;

const kArenaKeys: OptionKeys<ArenaOptions> = {
  bytes: true,
  minBytes: true,
  blockBytes: true,
  maxUnits: true,
};

const kWaitKeys: OptionKeys<ArenaWaitOptions> = { signal: true, timeoutMs: true };

export function validateOptions(options: ArenaOptions): MemorySizes {
  checkOptions<ArenaOptions>('options', options, kArenaKeys);
  // Bounded by the machine's memory: V8 answers a larger SharedArrayBuffer with a RangeError,
  // or a smaller-but-huge one by committing memory the machine does not have.
  const bytes = checkSharedBytes('bytes', valueOr(options.bytes, kDefaultBytes), 64);
  const minBytes = valueOr(options.minBytes, kDefaultMinBytes);
  if (!Number.isInteger(minBytes) || minBytes < 0 || minBytes > kMaxInt32) {
    throw invalidArgument('minBytes', 'an integer from 0 to 2^31 - 1', minBytes);
  }
  const blockBytes = valueOr(options.blockBytes, defaultBlockBytes(bytes, minBytes));
  if (
    !Number.isInteger(blockBytes) ||
    blockBytes < 64 ||
    blockBytes > 2 ** 30 ||
    (blockBytes & (blockBytes - 1)) !== 0
  ) {
    throw invalidArgument('blockBytes', 'a power of two from 64 to 2^30', blockBytes);
  }
  const blockCount = Math.floor(bytes / blockBytes);
  if (blockCount < 1 || blockCount > kMaxInt32) {
    throw invalidArgument('bytes', `from blockBytes (${blockBytes}) to 2^31 - 1 blocks`, bytes);
  }
  const maxUnits = valueOr(options.maxUnits, Math.min(blockCount, 65536));
  if (!Number.isInteger(maxUnits) || maxUnits < 1 || maxUnits > 2 ** 24) {
    throw invalidArgument('maxUnits', 'an integer from 1 to 2^24', maxUnits);
  }
  return { blockBytes, blockCount, maxUnits, minBytes };
}

/**
 * The option, or its default when left out. Unlike `??`, null stays a value given: typed a
 * number here, it is refused by the integer check that follows every use.
 */
function valueOr(value: number | undefined, fallback: number): number {
  return value === undefined ? fallback : value;
}

function defaultBlockBytes(bytes: number, minBytes: number): number {
  let blockBytes = 4096;
  while (blockBytes > 64 && (blockBytes > minBytes / 16 || blockBytes > bytes)) blockBytes /= 2;
  return blockBytes;
}

/**
 * The deadline (a `performance.now()` time, Infinity for none) of wait options, after checking
 * them. A stream's sender checks options per item, so the common case allocates nothing.
 */
export function waitDeadlineMs(options: ArenaWaitOptions): number {
  if (!hasOnlyWaitKeys(options)) checkOptions<ArenaWaitOptions>('options', options, kWaitKeys);
  checkSignal('signal', options.signal);
  const timeoutMs = checkTimeoutMs('timeoutMs', options.timeoutMs);
  return timeoutMs === undefined || timeoutMs === Infinity
    ? Infinity
    : performance.now() + timeoutMs;
}

/** True for a plain object of wait options (checkOptions names what is wrong otherwise). */
function hasOnlyWaitKeys(options: unknown): boolean {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) return false;
  for (const key in options) {
    if (Object.hasOwn(options, key) && key !== 'signal' && key !== 'timeoutMs') return false;
  }
  return true;
}

export function checkTicket(ticket: ArenaTicket): ArenaTicket {
  if (!isTicket(ticket)) throw invalidArgument('ticket', 'a ticket from commitUnit()', ticket);
  return ticket;
}

function isTicket(value: unknown): value is ArenaTicket {
  if (typeof value !== 'object' || value === null) return false;
  const ticket = value as Partial<Record<keyof ArenaTicket, unknown>>;
  return (
    Number.isInteger(ticket.arenaId) &&
    Number.isInteger(ticket.slot) &&
    Number.isInteger(ticket.generation) &&
    Array.isArray(ticket.regions)
  );
}

export function checkCount(count: number): number {
  if (!Number.isInteger(count) || count < 0)
    throw invalidArgument('count', 'a non-negative integer', count);
  return count;
}
