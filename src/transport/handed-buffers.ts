/**
 * Shared memory in a child process's boot data. A SharedArrayBuffer cannot cross an IPC channel,
 * but memory the native layer made can be handed over as a descriptor at fork
 * (memory/arena/handed-memory.ts): the parent replaces each buffer in the boot data with a mark
 * naming the child's fd (its index in `stdio`), the child maps each fd and puts the buffers back.
 * Boot data is plain data (objects, arrays, primitives, buffers), walked once. Shared by both sides.
 */
import { KeelError } from '../errors.js';
import { descriptorOf, mapHandedDescriptor } from '../memory/arena/handed-memory.js';
import { native, requireNative } from '../platform/native.js';

/** The first fd after stdin, stdout, stderr and the IPC channel. */
const kFirstHandedFd = 4;
const kMark = 'keel.handedFd';

interface HandedMark {
  readonly [kMark]: number;
}

/**
 * The boot data to send, and the parent's descriptors to put in `stdio` after 'ipc' (in that
 * order). Throws `KeelError` ERR_UNSUPPORTED without the native layer, ERR_CLOSED for memory
 * whose owner closed it (a closed arena).
 */
export function handOverBuffers(bootData: unknown): { bootData: unknown; fds: number[] } {
  const fds: number[] = [];
  const byBuffer = new Map<SharedArrayBuffer, number>();
  const replaced = mapLeaves(bootData, (leaf) => {
    if (!(leaf instanceof SharedArrayBuffer)) return leaf;
    let childFd = byBuffer.get(leaf);
    if (childFd === undefined) {
      childFd = kFirstHandedFd + fds.length;
      fds.push(descriptorFor(leaf));
      byBuffer.set(leaf, childFd);
    }
    const mark: HandedMark = { [kMark]: childFd };
    return mark;
  });
  return { bootData: replaced, fds };
}

/** Child side: the boot data with every handed buffer mapped (each fd closed once mapped). */
export function adoptHandedBuffers(bootData: unknown): unknown {
  const mapped = new Map<number, SharedArrayBuffer>();
  return mapLeaves(bootData, (leaf) => {
    if (!isMark(leaf)) return leaf;
    const fd = leaf[kMark];
    let buffer = mapped.get(fd);
    if (buffer === undefined) {
      buffer = mapHandedDescriptor(fd);
      mapped.set(fd, buffer);
    }
    return buffer;
  });
}

function descriptorFor(buffer: SharedArrayBuffer): number {
  requireNative('shared memory with a child process (an arena or a fast lane)');
  const fd = descriptorOf(buffer);
  if (fd !== undefined) return fd;
  throw new KeelError(
    native && buffer.byteLength > 0 ? 'ERR_CLOSED' : 'ERR_UNSUPPORTED',
    'a child process cannot map this memory: it was closed (a closed arena) or was not made ' +
      "by keel's native layer",
  );
}

function isMark(value: unknown): value is HandedMark {
  return (
    typeof value === 'object' &&
    value !== null &&
    Object.keys(value).length === 1 &&
    typeof (value as Partial<HandedMark>)[kMark] === 'number'
  );
}

/** A copy of plain data with each leaf (and each mark object) passed through `map`. */
function mapLeaves(value: unknown, map: (leaf: unknown) => unknown): unknown {
  const mapped = map(value);
  if (mapped !== value) return mapped;
  if (Array.isArray(value)) return value.map((item) => mapLeaves(item, map));
  if (
    typeof value !== 'object' ||
    value === null ||
    Object.getPrototypeOf(value) !== Object.prototype
  ) {
    return value;
  }
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) copy[key] = mapLeaves(item, map);
  return copy;
}
