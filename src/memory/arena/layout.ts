/**
 * The arena's shared memory: one SharedArrayBuffer, its layout drawn byte by byte, the named
 * offsets of every field and the encoding of a unit slot. Data only: no behaviour lives here.
 *
 * ```
 *  byte  size  field              Int32 word  meaning
 *     0     4  MAGIC                       0  0x4b45454c ('KEEL'): this buffer is a keel arena
 *     4     4  VERSION                     1  layout version (kLayoutVersion)
 *     8     4  BLOCK_BYTES                 2  allocation granule: a power of two >= 64
 *    12     4  BLOCK_COUNT                 3  blocks in the data area
 *    16     4  MAX_UNITS                   4  unit slots
 *    20     4  ARENA_ID                    5  random: a ticket from another arena is refused
 *    24     4  MIN_BYTES                   6  default offload threshold shared by every handle
 *    28     4  CLOSED                      7  0 open, 1 closed (sticky: no new units anywhere)
 *    32     4  FREE_EPOCH                  8  +1 each time space returns or the arena closes;
 *                                             waiting writers sleep on this word
 *    36     4  USED_BLOCKS                 9  blocks reserved by live units
 *    40     4  HIGH_WATER_BLOCKS          10  the most USED_BLOCKS ever reached
 *    44     4  LIVE_UNITS                 11  slots not free (writing, committed or received)
 *    48     4  FALLBACKS                  12  leaves that crossed by copying (full or too large)
 *    52     4  WAITS                      13  writers that had to wait for space
 *    56     4  NEXT_HANDLE_ID             14  last handle id handed out (ids start at 1)
 *    60     4  reserved                   15  (zero)
 *    64     4  UNIT_ROVER                 16  slot where the next search starts (a hint)
 *    68     4  BLOCK_LOCK                 17  0 free, else the id of the handle searching the
 *                                             block table (see memory.ts for why a lock)
 *    72     4  LOCK_CONTENDED             18  1 when a writer gave up on the lock: wake on unlock
 *    76     4  HOLD_ROVER                 19  hold entry where the next search starts (a hint)
 *    80    48  reserved (zero)
 *   128   4*N  block owners                   Int32[BLOCK_COUNT]: 0 free, else (unit slot + 1)
 *     S   8*U  unit slots                     BigUint64[MAX_UNITS], see encodeSlot below
 *     H   8*U  hold entries                   BigUint64[MAX_UNITS], see encodeHold below
 *     R   4*U  unit references                Int32[MAX_UNITS]: holders of each unit (its
 *                                             primary holder plus one per hold entry)
 *     D  N*BB  data                           BLOCK_COUNT blocks of BLOCK_BYTES each
 * ```
 * S is the owner table's end rounded up to 8, D the reference table's end rounded up to
 * min(BLOCK_BYTES, 4096): every block, hence every leaf, starts 64-byte aligned at least.
 */

export const kMagic = 0x4b45454c;
export const kLayoutVersion = 2;
export const kHeaderBytes = 128;

export const kMagicWord = 0;
export const kVersionWord = 1;
export const kBlockBytesWord = 2;
export const kBlockCountWord = 3;
export const kMaxUnitsWord = 4;
export const kArenaIdWord = 5;
export const kMinBytesWord = 6;
export const kClosedWord = 7;
export const kFreeEpochWord = 8;
export const kUsedBlocksWord = 9;
export const kHighWaterBlocksWord = 10;
export const kLiveUnitsWord = 11;
export const kFallbacksWord = 12;
export const kWaitsWord = 13;
export const kNextHandleIdWord = 14;
export const kUnitRoverWord = 16;
export const kBlockLockWord = 17;
export const kLockContendedWord = 18;
export const kHoldRoverWord = 19;

/** Alignment every leaf gets, whatever the block size. */
export const kLeafAlignBytes = 64;

/** Where each table lives in the buffer, derived from the three sizes in the header. */
export interface ArenaLayout {
  readonly blockBytes: number;
  readonly blockCount: number;
  readonly maxUnits: number;
  readonly ownersOffsetBytes: number;
  readonly slotsOffsetBytes: number;
  readonly holdsOffsetBytes: number;
  readonly refsOffsetBytes: number;
  readonly dataOffsetBytes: number;
  readonly totalBytes: number;
}

export function computeLayout(
  blockBytes: number,
  blockCount: number,
  maxUnits: number,
): ArenaLayout {
  const ownersOffsetBytes = kHeaderBytes;
  const slotsOffsetBytes = roundUp(ownersOffsetBytes + 4 * blockCount, 8);
  const holdsOffsetBytes = slotsOffsetBytes + 8 * maxUnits;
  const refsOffsetBytes = holdsOffsetBytes + 8 * maxUnits;
  const dataAlignBytes = Math.max(kLeafAlignBytes, Math.min(blockBytes, 4096));
  const dataOffsetBytes = roundUp(refsOffsetBytes + 4 * maxUnits, dataAlignBytes);
  return {
    blockBytes,
    blockCount,
    maxUnits,
    ownersOffsetBytes,
    slotsOffsetBytes,
    holdsOffsetBytes,
    refsOffsetBytes,
    dataOffsetBytes,
    totalBytes: dataOffsetBytes + blockBytes * blockCount,
  };
}

export function roundUp(value: number, multiple: number): number {
  return Math.ceil(value / multiple) * multiple;
}

// ---------------------------------------------------------------------------------------------
// A unit slot is one 64-bit word so that its state, its owner and its generation change together
// in a single compare-and-swap: a reclaim racing a hand-over can never see a new state with a
// stale owner.
//
//   bits  0..3   state       kUnitFree .. kUnitFreeing
//   bits  4..35  owner       handle id responsible for the unit (writer, then reader)
//   bits 36..62  generation  +1 each time the slot is freed; a ticket names (slot, generation)

export const kUnitFree = 0;
export const kUnitWriting = 1;
export const kUnitCommitted = 2;
export const kUnitReceived = 3;
/** Transient: one thread won the right to free this unit and is clearing its blocks. */
export const kUnitFreeing = 4;
/**
 * The primary holder (the reader that accepted it) let go while hold entries still reference
 * the unit: it has no owner; the last hold to go frees it.
 */
export const kUnitShared = 5;

export type UnitState = 0 | 1 | 2 | 3 | 4 | 5;

const kGenerationMask = (1n << 27n) - 1n;
const kGenerationNumberMask = 2 ** 27 - 1;

export function encodeSlot(state: UnitState, owner: number, generation: number): bigint {
  // owner * 16 + state < 2^36: exact as a Number, one BigInt conversion instead of three.
  const low = (owner >>> 0) * 16 + state;
  return ((BigInt(generation) & kGenerationMask) << 36n) | BigInt(low);
}

export function slotState(word: bigint): UnitState {
  return Number(word & 0xfn) as UnitState;
}

export function slotOwner(word: bigint): number {
  return Number((word >> 4n) & 0xffffffffn);
}

export function slotGeneration(word: bigint): number {
  return Number(word >> 36n);
}

export function nextGeneration(generation: number): number {
  return (generation + 1) & kGenerationNumberMask; // plain numbers: BigInt arithmetic costs µs here
}

// ---------------------------------------------------------------------------------------------
// A hold entry is one more holder of a received unit: a view of the unit forwarded by reference
// to another thread. One 64-bit word, so that state and owner change together (a reclaim of a
// dead owner races an accept):
//
//   bits  0..1   state       kHoldFree, kHoldInFlight (owner: the sender), kHoldHeld (the receiver)
//   bits  2..29  owner       handle id responsible for the hold (low 28 bits: ids are counted
//                            from 1 per arena, 2^28 handles are never reached)
//   bits 30..53  unit slot   the unit held (its reference count includes this entry)
//   bits 54..63  generation  +1 each time the entry is freed; a hold ticket names (entry, generation)

export const kHoldFree = 0;
export const kHoldInFlight = 1;
export const kHoldHeld = 2;

export type HoldState = 0 | 1 | 2;

const kHoldOwnerMask = (1n << 28n) - 1n;
const kHoldSlotMask = (1n << 24n) - 1n;

export function encodeHold(
  state: HoldState,
  owner: number,
  slot: number,
  generation: number,
): bigint {
  // Both halves as plain numbers, then one BigInt each: every BigInt operation allocates, and
  // this runs on each hand-over of a view forwarded by reference.
  const low = (state | ((owner & 0xfffffff) << 2) | ((slot & 0x3) << 30)) >>> 0;
  const high = (((slot >>> 2) & 0x3fffff) | ((generation & 0x3ff) << 22)) >>> 0;
  return (BigInt(high) << 32n) | BigInt(low);
}

export function holdState(word: bigint): HoldState {
  return Number(word & 0x3n) as HoldState;
}

/** The owner as stored (its low 28 bits): compare with `holdOwnerOf(handleId)`. */
export function holdOwner(word: bigint): number {
  return Number((word >> 2n) & kHoldOwnerMask);
}

export function holdOwnerOf(handleId: number): number {
  return (handleId >>> 0) & 0xfffffff;
}

export function holdSlot(word: bigint): number {
  return Number((word >> 30n) & kHoldSlotMask);
}

export function holdGeneration(word: bigint): number {
  return Number(word >> 54n);
}

export function nextHoldGeneration(generation: number): number {
  return (generation + 1) & 0x3ff;
}
