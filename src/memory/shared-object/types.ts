/**
 * The public types of SharedObject: which values a slot holds and how the initial value's type
 * becomes the slot's type.
 */
import type { TypedArray } from './typed-arrays.js';

/** A leaf of a slot's value: a scalar, a string, or a TypedArray (a Node `Buffer` included). */
export type SharedLeaf = null | boolean | number | bigint | string | TypedArray;

/** Everything a slot can hold: a leaf, or a plain object of values (nested objects allowed). */
export type SharedValue = SharedLeaf | { readonly [key: string]: SharedValue };

/**
 * `T` itself when every part of it can live in a slot, `never` where it cannot (an array, a
 * function, a Date, a Map...). Used as a constraint so that interfaces are accepted too.
 */
export type Shareable<T> = T extends SharedLeaf
  ? T
  : T extends readonly unknown[] | ((...args: never[]) => unknown)
    ? never
    : T extends object
      ? { readonly [K in keyof T]: Shareable<T[K]> }
      : never;

/** The slot type of an initial value: literals widened (`true` -> boolean), readonly dropped. */
export type Widen<T> = T extends boolean
  ? boolean
  : T extends number
    ? number
    : T extends bigint
      ? bigint
      : T extends string
        ? string
        : T extends null
          ? null
          : T extends TypedArray
            ? T
            : { -readonly [K in keyof T]: Widen<T[K]> };

/** Options of `SharedObject.create`. */
export interface SharedObjectOptions {
  /** Dimensions of a TypedArray slot, kept on the handle as `so.shape`; their product must equal the length. Default `[length]`. */
  readonly shape?: readonly number[] | undefined;
  /** Byte capacity of a string slot. Default: the larger of twice the initial UTF-8 length and 64. */
  readonly capacity?: number | undefined;
  /** Attach to an existing slot of that name (which must be layout-compatible) and assign `initial` to it, instead of failing with ERR_EXISTS. Default false. */
  readonly reuse?: boolean | undefined;
  /**
   * Who can open the slot by name: `'process'` (default), every thread of this process;
   * `'machine'`, every process of the same user on the machine (a POSIX shared-memory segment
   * `/keel.<name>`, needs keel's native layer, else ERR_UNSUPPORTED).
   */
  readonly scope?: SharedObjectScope | undefined;
  /** Permission bits of a machine-scope segment (umask does not apply). Default `0o600`: its owner only. */
  readonly mode?: number | undefined;
}

/** Where a slot's name is visible: this process's threads, or every process of the user. */
export type SharedObjectScope = 'process' | 'machine';

/** One entry of `SharedObject.list()`. */
export interface SharedObjectInfo {
  /** The name the slot was created with (for machine scope, without the `keel.` file prefix). */
  readonly name: string;
  /** `'process'`: this process's threads; `'machine'`: a POSIX segment any process of the user opens. */
  readonly scope: SharedObjectScope;
  /** Bytes of the slot's memory: header, descriptor and three copies of the value. */
  readonly bytes: number;
  /** What the slot holds: `'null'`, `'boolean'`, `'number'`, `'bigint'`, `'string'`, `'object'`, or a TypedArray as `'Float32Array[480x848x3]'`. */
  readonly kind: string;
  /** Nanoseconds (CLOCK_MONOTONIC, as `process.hrtime.bigint()`) of the last assign or trigger. */
  readonly mtime: bigint;
}

/** Options of `changed()`. */
export interface ChangedOptions {
  /** Aborting rejects with the signal's reason (a DOMException `AbortError` when none). */
  readonly signal?: AbortSignal | undefined;
  /** Rejects with KeelError `ERR_TIMEOUT` after this many milliseconds. Default: no limit. */
  readonly timeoutMs?: number | undefined;
}

/**
 * What a handle becomes when structured-cloned (postMessage, a worker call argument): its own
 * enumerable properties. `SharedObject.from()` turns it back into a handle.
 */
export interface ClonedSharedObject {
  /** The slot's name. */
  readonly name: string;
  /** The slot's memory, shared with the handle it was cloned from. */
  readonly buffer: SharedArrayBuffer;
}
