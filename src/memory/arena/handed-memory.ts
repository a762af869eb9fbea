/**
 * Shared memory that a child process can map: with keel's native layer, an anonymous segment
 * (`memfd_create`, native/CONTRACT.md) whose descriptor stays open while its buffer lives in this
 * thread, so that a child forked later can be handed it in `stdio`; without the layer, a plain
 * `SharedArrayBuffer`, which threads map as before and children cannot. The arena and the fast
 * lane both take their memory from here. Nothing is named, so a crash leaves nothing behind.
 * Shared by both sides.
 */
import { KeelError } from '../../errors.js';
import { native, requireNative } from '../../platform/native.js';

/** Open descriptors by the buffer they back, in this thread. */
const descriptors = new WeakMap<SharedArrayBuffer, number>();
/** Closes a buffer's descriptor once the buffer is collected (the arena was never closed). */
const closer = new FinalizationRegistry<number>((fd) => {
  closeQuietly(fd);
});

/**
 * `bytes` of zeroed shared memory. With the native layer, a child can map it as long as the
 * buffer is reachable here and `closeHandedMemory` was not called. Allocates; never blocks.
 */
export function allocateHandableMemory(bytes: number, label: string): SharedArrayBuffer {
  if (!native) return new SharedArrayBuffer(bytes);
  const { fd, buffer } = native.createAnonymous(bytes, label);
  descriptors.set(buffer, fd);
  closer.register(buffer, fd, buffer);
  return buffer;
}

/** The descriptor a child maps `buffer` from, or undefined (V8 memory, or closed already). */
export function descriptorOf(buffer: SharedArrayBuffer): number | undefined {
  return descriptors.get(buffer);
}

/**
 * Closes `buffer`'s descriptor now: no child forked later can map it. Mappings stay valid
 * (here and in children that mapped it already). Idempotent; harmless for V8 memory.
 */
export function closeHandedMemory(buffer: SharedArrayBuffer): void {
  const fd = descriptors.get(buffer);
  if (fd === undefined) return;
  descriptors.delete(buffer);
  closer.unregister(buffer);
  closeQuietly(fd);
}

/**
 * Child side: maps a descriptor the parent handed over at fork, then closes it (the mapping
 * keeps the memory). Throws ERR_UNSUPPORTED without the native layer.
 */
export function mapHandedDescriptor(fd: number): SharedArrayBuffer {
  const binding = requireNative('memory handed over by the parent process');
  let buffer: SharedArrayBuffer;
  try {
    buffer = binding.mapDescriptor(fd);
  } catch (error) {
    throw new KeelError(
      'ERR_START_FAILED',
      `the memory handed over at fd ${fd} could not be mapped: ${(error as Error).message}`,
      { cause: error },
    );
  } finally {
    closeQuietly(fd);
  }
  return buffer;
}

function closeQuietly(fd: number): void {
  try {
    native?.closeDescriptor(fd);
  } catch {
    // EBADF: nothing left to close.
  }
}
