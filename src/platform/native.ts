/**
 * The one module that loads keel's native addon (native/, its contract in native/CONTRACT.md)
 * and the only way the rest of keel reaches it: shared memory that maps as a SharedArrayBuffer
 * in every process that opens it, futex wait/wake across processes, a robust writers' lock, and
 * the calling thread's scheduling class and CPU affinity (through scheduling.ts). Shared by both
 * sides.
 *
 * The addon is optional. Without it (another platform, a failed build, or `KEEL_NATIVE=0` in the
 * environment) `native` is undefined, `nativeStatus()` says why, and the features that need it
 * throw `ERR_UNSUPPORTED` through `requireNative`. Everything else works by copying.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { KeelError } from '../errors.js';

/** The addon's functions, as native/CONTRACT.md describes them. */
export interface NativeBinding {
  openSegment(name: string, create: boolean, mode: number, bytes: number): SharedArrayBuffer;
  unlinkSegment(name: string): void;
  createAnonymous(bytes: number, label: string): { fd: number; buffer: SharedArrayBuffer };
  mapDescriptor(fd: number): SharedArrayBuffer;
  closeDescriptor(fd: number): void;
  wait(words: Int32Array, index: number, expected: number, timeoutMs: number): WaitResult;
  wake(words: Int32Array, index: number, count: number): number;
  waitAsync(
    words: Int32Array,
    index: number,
    expected: number,
    timeoutMs: number,
    keepAlive: boolean,
  ): Promise<'ok' | 'timed-out'>;
  mutexInit(words: Int32Array, index: number): void;
  mutexLock(words: Int32Array, index: number, timeoutMs: number): MutexLockResult;
  mutexUnlock(words: Int32Array, index: number): void;
  mutexWords(): number;
  features(): { futexWaitv: boolean; asyncWait: 'io_uring' | 'futex_waitv' | 'poll' };
  /** The calling thread's class: 'nice' when SCHED_IDLE was refused and nice 19 applied instead. */
  setThreadScheduling(
    policy: 'fifo' | 'other' | 'idle',
    rtPriority: number,
    nice: number,
  ): 'applied' | 'nice';
  setThreadAffinity(cpus: readonly number[]): void;
  /** What the OS applies to thread `tid` (0: the calling thread). */
  threadScheduling(tid: number): ThreadScheduling;
}

/** A thread's scheduling as the OS reports it (native/scheduling.cc). */
export interface ThreadScheduling {
  readonly tid: number;
  readonly policy: 'other' | 'fifo' | 'rr' | 'batch' | 'idle' | 'deadline' | 'unknown';
  readonly rtPriority: number;
  readonly nice: number;
  readonly resetOnFork: boolean;
  readonly cpus: readonly number[];
}

export type WaitResult = 'ok' | 'not-equal' | 'timed-out';
export type MutexLockResult = 'locked' | 'recovered' | 'timed-out';

/** What `nativeStatus()` reports. */
export interface NativeStatus {
  /** Whether the addon is loaded in this process. */
  readonly loaded: boolean;
  /** Why it is not loaded (absent when loaded). */
  readonly reason?: string;
  /** Which parts of the native layer this machine has (all false when it is not loaded). */
  readonly features: {
    /** Named and anonymous shared memory mapped as SharedArrayBuffers (machine-scope SharedObjects, process arenas). */
    readonly sharedMemory: boolean;
    /** Wait and wake on a shared word across processes (cross-process `changed()`, the process fast lane). */
    readonly crossProcessWait: boolean;
    /** Thread scheduling classes and CPU affinity. */
    readonly scheduling: boolean;
  };
}

/** The package root: the addon is found under build/ (a source build) or prebuilds/. */
const kPackageRoot = fileURLToPath(new URL('../../', import.meta.url));

function load(): { binding?: NativeBinding; reason?: string } {
  if (process.env.KEEL_NATIVE === '0') return { reason: 'KEEL_NATIVE=0 is set in the environment' };
  if (process.platform !== 'linux') {
    return { reason: `keel's native layer supports Linux; this is ${process.platform}` };
  }
  const require = createRequire(import.meta.url);
  try {
    // KEEL_NATIVE_ADDON names a build to load instead (the sanitizer build of the test suite).
    const override = process.env.KEEL_NATIVE_ADDON;
    if (override) return { binding: require(override) as NativeBinding };
    const findBinding = require('node-gyp-build') as (root: string) => unknown;
    return { binding: findBinding(kPackageRoot) as NativeBinding };
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    return {
      reason:
        `no build of keel's native addon loads here (${message}); ` +
        'run `npm rebuild keel` with python3, make and g++ installed to build it from source',
    };
  }
}

const loaded = load();

/** The addon, or undefined when it is not loaded (see `nativeStatus()`). */
export const native: NativeBinding | undefined = loaded.binding;

/**
 * Whether keel's native layer is loaded, why not, and which of its features this machine has.
 *
 * @example
 * if (!nativeStatus().loaded) console.warn(`keel copies between processes: ${nativeStatus().reason}`);
 */
export function nativeStatus(): NativeStatus {
  if (!native) {
    return {
      loaded: false,
      reason: loaded.reason ?? 'not loaded',
      features: { sharedMemory: false, crossProcessWait: false, scheduling: false },
    };
  }
  return {
    loaded: true,
    // A build older than the scheduling functions (a stale prebuild) loads without them.
    features: {
      sharedMemory: true,
      crossProcessWait: true,
      scheduling: typeof native.setThreadScheduling === 'function',
    },
  };
}

/** The addon, or `KeelError` ERR_UNSUPPORTED saying that `feature` needs it and why it is missing. */
export function requireNative(feature: string): NativeBinding {
  if (native) return native;
  throw new KeelError(
    'ERR_UNSUPPORTED',
    `${feature} needs keel's native layer, which is not loaded: ${loaded.reason ?? 'unknown reason'}`,
  );
}

/** The errno name (`'ENOENT'`, `'EACCES'`, ...) of an error the addon threw, if it is one. */
export function nativeErrorCode(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const { code, syscall } = error as { code?: unknown; syscall?: unknown };
  return typeof code === 'string' && typeof syscall === 'string' ? code : undefined;
}
