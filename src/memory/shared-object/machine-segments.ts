/**
 * Machine-scope slots: a slot's memory in the named POSIX shared-memory segment `/keel.<name>`
 * (on Linux the file /dev/shm/keel.<name>), which every process of the same user may map by
 * name. The layout inside is the in-process slot's (layout.ts) with the robust mutex as the
 * writers' lock. Creating, opening, listing and removing segments, and the OS's refusals as
 * KeelErrors. Both sides; every function may do a system call, none blocks for long (open
 * waits at most kCompletionWaitMs for a segment another process is still filling).
 */
import { readdirSync } from 'node:fs';
import { KeelError } from '../../errors.js';
import { native, nativeErrorCode, requireNative } from '../../platform/native.js';
import { waitWord } from '../../platform/wait-word.js';
import {
  headerViews,
  kHeaderBytes,
  kLockRobustMutex,
  kMtimeBigWord,
  kMutexMaxWords,
  kSlotMagic,
  kWord,
  publishSlot,
  readGeometry,
  slotMagic,
  writeSlotHeader,
  type SlotDescriptor,
  type SlotGeometry,
  type SlotPlan,
} from './layout.js';
import type { SharedObjectInfo } from './types.js';

/** Segment names are this prefix and the slot's name: `list()` and `keel shm` find keel's by it. */
export const kSegmentPrefix = 'keel.';
/** Where Linux shows POSIX shared-memory segments as files. */
const kShmDirectory = '/dev/shm';
/** How long open() waits for a segment whose creator (another process) is still filling it. */
const kCompletionWaitMs = 1000;
const kFeature = "SharedObject scope 'machine'";

function segmentName(name: string): string {
  return `/${kSegmentPrefix}${name}`;
}

/** The OS's refusal of an operation on the segment of `name`, as a KeelError (others unchanged). */
function segmentError(error: unknown, name: string, bytes: number): unknown {
  const code = nativeErrorCode(error);
  const file = `${kShmDirectory}/${kSegmentPrefix}${name}`;
  if (code === 'EACCES' || code === 'EPERM') {
    return new KeelError(
      'ERR_PERMISSION',
      `SharedObject "${name}": the segment ${file} belongs to another user (or its mode refuses ` +
        'this one); run this program as the user who created it, or have the creator pass ' +
        "{ scope: 'machine', mode: 0o660 } (its group) or 0o666 (everyone) to create",
      { cause: error },
    );
  }
  if (code === 'ENOSPC') {
    return new KeelError(
      'ERR_NO_SPACE',
      `SharedObject "${name}": ${kShmDirectory} has no room for ${bytes} bytes; remove unused ` +
        'slots (npx keel shm list, npx keel shm unlink NAME) or enlarge it (in Docker, ' +
        '--shm-size, whose default is 64 MiB: docker run --shm-size=1g ...)',
      { cause: error },
    );
  }
  return error;
}

/**
 * Creates the segment of a new slot and fills it: header and descriptor, the robust mutex,
 * then `initialize` (copy 0 and the mtime), and the magic last, so that an open() in another
 * process never uses a half-made slot. Returns undefined when the name is taken. A failure while
 * filling removes the segment again.
 */
export function createMachineSegment(
  name: string,
  plan: SlotPlan,
  mode: number,
  initialize: (buffer: SharedArrayBuffer, geometry: SlotGeometry) => void,
): SharedArrayBuffer | undefined {
  const addon = requireNative(kFeature);
  if (addon.mutexWords() > kMutexMaxWords) {
    throw new KeelError(
      'ERR_UNSUPPORTED',
      `${kFeature}: this platform's mutex takes ${addon.mutexWords() * 4} bytes, more than the ${kMutexMaxWords * 4} the slot header holds`,
    );
  }
  let buffer: SharedArrayBuffer;
  try {
    buffer = addon.openSegment(segmentName(name), true, mode, plan.totalBytes);
  } catch (error) {
    if (nativeErrorCode(error) === 'EEXIST') return undefined;
    throw segmentError(error, name, plan.totalBytes);
  }
  try {
    writeSlotHeader(buffer, plan, kLockRobustMutex);
    addon.mutexInit(headerViews(buffer).words, kWord.mutex);
    initialize(buffer, plan.geometry);
    publishSlot(buffer);
  } catch (error) {
    addon.unlinkSegment(segmentName(name));
    throw error;
  }
  return buffer;
}

/**
 * Maps the segment of `name` once its creator finished it; undefined when there is none (or no
 * native layer). ERR_TYPE_MISMATCH when it is not a keel slot of this layout version,
 * ERR_NOT_FOUND when it stays unfinished (its creator died while creating it).
 */
export function openMachineSegment(name: string): SharedArrayBuffer | undefined {
  if (!native) return undefined;
  const deadlineMs = performance.now() + kCompletionWaitMs;
  for (;;) {
    const buffer = mapExisting(name);
    if (buffer === undefined) return undefined;
    if (buffer !== 'empty' && buffer.byteLength >= kHeaderBytes) {
      const complete = awaitMagic(name, buffer, deadlineMs);
      if (complete) {
        checkedGeometry(name, buffer);
        return buffer;
      }
    }
    if (performance.now() >= deadlineMs) {
      throw new KeelError(
        'ERR_NOT_FOUND',
        `SharedObject "${name}": its segment exists but was never completed (its creator died ` +
          `while creating it); remove it with SharedObject.unlink('${name}') or npx keel shm unlink ${name}`,
      );
    }
    sleepMs(1);
  }
}

/** The mapped segment, 'empty' while its creator has not sized it yet, undefined when missing. */
function mapExisting(name: string): SharedArrayBuffer | 'empty' | undefined {
  try {
    return (native as NonNullable<typeof native>).openSegment(segmentName(name), false, 0, 0);
  } catch (error) {
    const code = nativeErrorCode(error);
    if (code === 'ENOENT') return undefined;
    if (code === 'EINVAL') return 'empty';
    throw segmentError(error, name, 0);
  }
}

/** Waits (bounded) for the creator's magic; true once the slot is complete. */
function awaitMagic(name: string, buffer: SharedArrayBuffer, deadlineMs: number): boolean {
  const magicWord = new Int32Array(buffer, 0, 1);
  for (;;) {
    const magic = slotMagic(buffer);
    if (magic === kSlotMagic) return true;
    if (magic !== 0) {
      throw new KeelError(
        'ERR_TYPE_MISMATCH',
        `SharedObject "${name}": the segment ${kShmDirectory}/${kSegmentPrefix}${name} is not a SharedObject slot of this keel version`,
      );
    }
    const remainingMs = deadlineMs - performance.now();
    if (remainingMs <= 0) return false;
    // The creator does not wake anyone: this is a bounded sleep while it fills the slot.
    waitWord(magicWord, 0, 0, Math.min(1, remainingMs));
  }
}

function checkedGeometry(name: string, buffer: SharedArrayBuffer): SlotGeometry {
  try {
    return readGeometry(buffer);
  } catch (error) {
    throw new KeelError(
      'ERR_TYPE_MISMATCH',
      `SharedObject "${name}": ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Removes the name of a machine-scope slot; false when there is none. Mappings keep working. */
export function unlinkMachineSegment(name: string): boolean {
  if (!native) return false;
  try {
    native.unlinkSegment(segmentName(name));
    return true;
  } catch (error) {
    if (nativeErrorCode(error) === 'ENOENT') return false;
    throw segmentError(error, name, 0);
  }
}

/** What a slot holds, for list(): the kind, or the TypedArray's type and shape. */
export function describeSlotKind(descriptor: SlotDescriptor): string {
  const { layout, shape } = descriptor;
  if (layout.kind !== 'typed') return layout.kind;
  return `${layout.dtype}[${(shape ?? [layout.length]).join('x')}]`;
}

/** One list() entry for the slot in `buffer`. */
export function slotInfo(
  name: string,
  scope: SharedObjectInfo['scope'],
  buffer: SharedArrayBuffer,
): SharedObjectInfo {
  const { descriptor } = readGeometry(buffer);
  return {
    name,
    scope,
    bytes: buffer.byteLength,
    kind: describeSlotKind(descriptor),
    mtime: Atomics.load(headerViews(buffer).big, kMtimeBigWord),
  };
}

/**
 * Every machine-scope slot this user can open, by the segment files under /dev/shm. Segments of
 * other users, unfinished ones and foreign files that merely share the prefix are skipped.
 * Empty without the native layer.
 */
export function listMachineSegments(): SharedObjectInfo[] {
  if (!native) return [];
  let files: string[];
  try {
    files = readdirSync(kShmDirectory);
  } catch {
    return [];
  }
  const infos: SharedObjectInfo[] = [];
  for (const file of files.sort()) {
    if (!file.startsWith(kSegmentPrefix) || file.length === kSegmentPrefix.length) continue;
    const info = readSegmentInfo(file.slice(kSegmentPrefix.length));
    if (info !== undefined) infos.push(info);
  }
  return infos;
}

function readSegmentInfo(name: string): SharedObjectInfo | undefined {
  try {
    const buffer = mapExisting(name);
    if (buffer === undefined || buffer === 'empty' || buffer.byteLength < kHeaderBytes)
      return undefined;
    if (slotMagic(buffer) !== kSlotMagic) return undefined;
    return slotInfo(name, 'machine', buffer);
  } catch {
    return undefined;
  }
}
