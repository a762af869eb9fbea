/**
 * The memory of one SharedObject slot: a single SharedArrayBuffer holding a header of control
 * words, a self-describing layout descriptor and three copies of the value. Any thread that gets
 * the buffer (by name or as a cloned handle) can decode it without further information.
 * Shared by both sides; no worker_threads here.
 *
 *  byte   0 ┌ magic u32 'KSO1' │ descriptorBytes u32 │ lockKind i32 │ reserved u32   identity
 *  byte  16 │ robust mutex (machine scope: pthread_mutex_t, 8-aligned, 40 bytes on
 *           │ Linux x64, at most 48) │ zero to byte 64
 *  byte  64 ├ lock i32 │ latest i32 │ version i32 │ waiters i32 │ flags i32 │ pad  writers' line
 *  byte  88 │ mtime i64 (ns, CLOCK_MONOTONIC)                                      │
 *  byte  96 │ published[0..2] i32 (version at which each copy was last published)  │
 *  byte 128 ├ pins[0..2] i32: readers copying each copy right now                 readers' line
 *  byte 192 ├ seq[0..2] i32: per-copy sequence, odd while a writer changes its bytes  writers' line
 *  byte 208 │ claims[0..2] i32: 1 while a writer owns the copy (handshake with pins)   │
 *  byte 256 ├ descriptor: UTF-8 JSON { layout, shape, valueBytes }, padded to 64
 *         D ├ copy 0: valueBytes, padded to 64 (kCopyAlignBytes)
 *     D + S ├ copy 1
 *    D + 2S ├ copy 2
 *           └
 * lockKind says which writers' lock the slot uses: 0, the futex word `lock` at byte 64 (process
 * scope: every writer is a thread of one process); 1, the robust mutex at byte 16 (machine scope:
 * the kernel hands it on when its holder dies, see slot-repair.ts). The magic is written last:
 * a slot whose magic is set is complete (header, descriptor, mutex and copy 0).
 * Hot words written by different sides sit on different 64-byte cache lines, so readers pinning
 * a copy do not invalidate the line a writer spins on, and the reverse.
 * docs/processes.md ("Machine-scope slots: the layout and the protocol") is the reference, byte
 * by byte, with the reader's and writer's steps; python/keel_shared_object.py follows it too,
 * so a change here is a change of that document and of the Python module.
 */
import { KeelError } from '../../errors.js';

import type { LayoutNode } from './value-layouts.js';

const kMagic = 0x4b534f31; // 'KSO1'
export const kCopyCount = 3;
const kCopyAlignBytes = 64;
const kDescriptorOffsetBytes = 256;

/** Int32 word indexes of the header (byte offset / 4). */
export const kWord = {
  magic: 0,
  descriptorBytes: 1,
  lockKind: 2,
  mutex: 4, // ..15 (byte 16 to 64)
  lock: 16,
  latest: 17,
  version: 18,
  waiters: 19,
  flags: 20,
  published: 24, // ..26
  pins: 32, // ..34
  seq: 48, // ..50
  claims: 52, // ..54
} as const;

/** How many Int32 words the robust mutex may take (bytes 16 to 64). */
export const kMutexMaxWords = 12;

/** Which writers' lock a slot uses (header word `lockKind`). */
export const kLockFutex = 0;
export const kLockRobustMutex = 1;

/** Bytes before the descriptor: what a slot needs at least, and what `list()` reads of one. */
export const kHeaderBytes = kDescriptorOffsetBytes;

/** BigInt64 word index of the mtime (byte 88). */
export const kMtimeBigWord = 11;

/** flags bit: the name was unlinked; handles keep working, lookups by name skip this buffer. */
export const kFlagUnlinked = 1;

/** What a slot holds, as stored in its descriptor. */
export interface SlotDescriptor {
  readonly layout: LayoutNode;
  /** The `shape` of a TypedArray slot ([length] when none was given); null for other kinds. */
  readonly shape: readonly number[] | null;
  /** Bytes of one copy of the value. */
  readonly valueBytes: number;
}

/** Where the copies live inside the buffer. */
export interface SlotGeometry {
  readonly descriptor: SlotDescriptor;
  /** Byte offset of copy 0. */
  readonly copyOffsetBytes: number;
  /** Distance between two copies. */
  readonly copyStrideBytes: number;
}

function roundUp(bytes: number, align: number): number {
  return Math.ceil(bytes / align) * align;
}

function geometryOf(descriptor: SlotDescriptor, descriptorBytes: number): SlotGeometry {
  return {
    descriptor,
    copyOffsetBytes: roundUp(kDescriptorOffsetBytes + descriptorBytes, kCopyAlignBytes),
    copyStrideBytes: roundUp(Math.max(descriptor.valueBytes, 1), kCopyAlignBytes),
  };
}

/** A slot's size and descriptor bytes, before any memory exists. */
export interface SlotPlan {
  readonly json: Uint8Array;
  readonly geometry: SlotGeometry;
  /** Bytes of the whole slot: header, descriptor and three copies. */
  readonly totalBytes: number;
}

export function planSlot(descriptor: SlotDescriptor): SlotPlan {
  const json = new TextEncoder().encode(JSON.stringify(descriptor));
  const geometry = geometryOf(descriptor, json.byteLength);
  const totalBytes = geometry.copyOffsetBytes + kCopyCount * geometry.copyStrideBytes;
  return { json, geometry, totalBytes };
}

/**
 * Writes the header and descriptor of a new slot into zeroed memory, all but the magic (see
 * publishSlot). Creator only, before anyone else may look at the memory as a slot.
 */
export function writeSlotHeader(buffer: SharedArrayBuffer, plan: SlotPlan, lockKind: number): void {
  const words = new Int32Array(buffer, 0, kDescriptorOffsetBytes / 4);
  words[kWord.descriptorBytes] = plan.json.byteLength;
  words[kWord.lockKind] = lockKind;
  new Uint8Array(buffer, kDescriptorOffsetBytes, plan.json.byteLength).set(plan.json);
}

/** Marks a slot complete. Creator only, after the header, the lock and copy 0 are written. */
export function publishSlot(buffer: SharedArrayBuffer): void {
  // Makes the whole slot visible to an open() in another process, which waits for the magic.
  Atomics.store(new Int32Array(buffer, 0, 1), kWord.magic, kMagic);
}

/**
 * Allocates and initialises the buffer of a new process-scope slot. The copies are left to the
 * caller, who writes the initial value into copy 0 (`latest` = 0, version 0) before anyone
 * else can see it (the registry or a clone publishes the buffer).
 */
export function allocateSlot(descriptor: SlotDescriptor): {
  buffer: SharedArrayBuffer;
  geometry: SlotGeometry;
} {
  const plan = planSlot(descriptor);
  const buffer = new SharedArrayBuffer(plan.totalBytes);
  writeSlotHeader(buffer, plan, kLockFutex);
  publishSlot(buffer);
  return { buffer, geometry: plan.geometry };
}

/** The magic word of a slot's memory: kSlotMagic when complete, 0 while its creator fills it. */
export function slotMagic(buffer: SharedArrayBuffer): number {
  return Atomics.load(new Int32Array(buffer, 0, 1), kWord.magic);
}

export const kSlotMagic = kMagic;

/** Which writers' lock a complete slot uses (kLockFutex or kLockRobustMutex). */
export function slotLockKind(buffer: SharedArrayBuffer): number {
  return Atomics.load(new Int32Array(buffer, 0, 4), kWord.lockKind);
}

/** Whether `buffer` is the memory of a slot (any version of this layout). */
export function isSlotBuffer(buffer: unknown): buffer is SharedArrayBuffer {
  return (
    buffer instanceof SharedArrayBuffer &&
    buffer.byteLength >= kDescriptorOffsetBytes &&
    Atomics.load(new Int32Array(buffer, 0, 1), 0) === kMagic
  );
}

/** Reads the descriptor of a slot buffer; throws ERR_INVALID_ARGUMENT on anything else. */
export function readGeometry(buffer: SharedArrayBuffer): SlotGeometry {
  if (!isSlotBuffer(buffer)) {
    throw new KeelError('ERR_INVALID_ARGUMENT', 'buffer is not the memory of a SharedObject slot');
  }
  const descriptorBytes = new Int32Array(buffer, 0, 2)[kWord.descriptorBytes] ?? 0;
  // A segment another program wrote (machine scope) may hold anything: check before trusting.
  const corrupt = new KeelError(
    'ERR_TYPE_MISMATCH',
    'the memory holds a SharedObject header whose descriptor is damaged',
  );
  if (descriptorBytes <= 0 || kDescriptorOffsetBytes + descriptorBytes > buffer.byteLength)
    throw corrupt;
  // TextDecoder refuses views over shared memory in some engines: decode a private copy.
  const json = new Uint8Array(buffer, kDescriptorOffsetBytes, descriptorBytes).slice();
  let descriptor: SlotDescriptor;
  try {
    descriptor = JSON.parse(new TextDecoder().decode(json)) as SlotDescriptor;
  } catch {
    throw corrupt;
  }
  const geometry = geometryOf(descriptor, descriptorBytes);
  if (
    !Number.isSafeInteger(descriptor.valueBytes) ||
    geometry.copyOffsetBytes + kCopyCount * geometry.copyStrideBytes > buffer.byteLength
  )
    throw corrupt;
  return geometry;
}

/** The header words of a slot, as Int32 (control) and BigInt64 (mtime) views. */
export function headerViews(buffer: SharedArrayBuffer): { words: Int32Array; big: BigInt64Array } {
  return {
    words: new Int32Array(buffer, 0, kDescriptorOffsetBytes / 4),
    big: new BigInt64Array(buffer, 0, kDescriptorOffsetBytes / 8),
  };
}

/** Marks a slot's name as unlinked (called once, by the registry, when the name is removed). */
export function markSlotUnlinked(buffer: SharedArrayBuffer): void {
  // Makes the unlink visible to every thread's name cache (transport/registry-link.ts).
  Atomics.or(new Int32Array(buffer, 0, kDescriptorOffsetBytes / 4), kWord.flags, kFlagUnlinked);
}

/** Whether a slot's name was unlinked. May be stale by the time the caller acts on it. */
export function isSlotUnlinked(buffer: SharedArrayBuffer): boolean {
  return (
    (Atomics.load(new Int32Array(buffer, 0, kDescriptorOffsetBytes / 4), kWord.flags) &
      kFlagUnlinked) !==
    0
  );
}
