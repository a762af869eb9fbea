/**
 * The checks of SharedObject's entry points: names, `create`'s options and the descriptor of a
 * new slot, `changed()`'s options. No I/O. Both sides.
 */
import { KeelError, invalidArgument } from '../../errors.js';
import {
  checkInteger,
  checkSignal,
  checkTimeoutMs,
  kMaxSharedBytes,
} from '../../options/checks.js';
import { checkOptions, type OptionKeys } from '../../options/known-keys.js';
import { kCopyCount, type SlotDescriptor } from './layout.js';
import { findMismatch, layoutBytes, layoutOf, type LayoutNode } from './value-layouts.js';
import type { ChangedOptions, SharedObjectOptions, SharedObjectScope } from './types.js';

/** Longest machine-scope name, in UTF-8 bytes (the segment is `/keel.` + name; Linux allows 255). */
export const kMaxMachineNameBytes = 200;

/** Default permission bits of a machine-scope segment: its owner only. */
const kDefaultMode = 0o600;

/** `scope` and `mode` of create's options, validated (mode only with machine scope). */
export function checkScopeOptions(options: SharedObjectOptions): {
  scope: SharedObjectScope;
  mode: number;
} {
  const { scope = 'process', mode } = options;
  if (scope !== 'process' && scope !== 'machine')
    throw invalidArgument('scope', "'process' or 'machine'", scope);
  if (mode !== undefined) {
    if (scope !== 'machine')
      throw invalidArgument('mode', "absent unless scope is 'machine'", mode);
    checkInteger('mode', mode, 0, 0o777);
  }
  return { scope, mode: mode ?? kDefaultMode };
}

/** Checks a machine-scope name: non-empty, no '/', no NUL, at most kMaxMachineNameBytes bytes. */
export function checkMachineName(name: string): void {
  const bytes = Buffer.byteLength(name);
  if (name.includes('/') || name.includes('\0') || bytes > kMaxMachineNameBytes) {
    throw invalidArgument(
      'name',
      `a machine-scope name of 1 to ${kMaxMachineNameBytes} UTF-8 bytes without '/' or NUL`,
      bytes > 64 ? `a name of ${bytes} bytes` : name,
    );
  }
}

/** Whether `name` could be a machine-scope name (open() and unlink() look only for those). */
export function isMachineName(name: string): boolean {
  return (
    name.length > 0 &&
    !name.includes('/') &&
    !name.includes('\0') &&
    Buffer.byteLength(name) <= kMaxMachineNameBytes
  );
}

/** Why explicit `shape` / `capacity` options disagree with an existing slot, if they do. */
export function optionMismatch(
  existing: SlotDescriptor,
  options: SharedObjectOptions,
): string | undefined {
  const { shape, capacity } = options;
  if (shape !== undefined && !sameNumbers(shape, existing.shape)) {
    return `shape must be [${(existing.shape ?? []).join(', ')}], got [${shape.join(', ')}]`;
  }
  const layout = existing.layout;
  if (capacity !== undefined && layout.kind === 'string' && layout.capacityBytes !== capacity) {
    return `capacity must be ${layout.capacityBytes}, got ${capacity}`;
  }
  return undefined;
}

function sameNumbers(a: readonly number[], b: readonly number[] | null): boolean {
  return b !== null && a.length === b.length && a.every((n, i) => n === b[i]);
}

export function checkName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length === 0)
    throw invalidArgument('name', 'a non-empty string', name);
}

const kCreateKeys: OptionKeys<SharedObjectOptions> = {
  shape: true,
  capacity: true,
  reuse: true,
  scope: true,
  mode: true,
};
const kChangedKeys: OptionKeys<ChangedOptions> = { signal: true, timeoutMs: true };

/** The descriptor of a new slot for `initial`, with the options validated against it. */
export function describeInitial(initial: unknown, options: SharedObjectOptions): SlotDescriptor {
  checkOptions<SharedObjectOptions>('options', options, kCreateKeys);
  const { shape, capacity } = options;
  if (capacity !== undefined) {
    if (typeof initial !== 'string')
      throw invalidArgument('capacity', 'absent for a value that is not a string', capacity);
    // Three copies of the capacity are allocated: refuse what the machine cannot hold.
    checkInteger('capacity', capacity, 0, Math.floor(kMaxSharedBytes / kCopyCount));
  }
  const layout = layoutOf(initial, 'initial', capacity);
  const problem = findMismatch(layout, initial, 'initial');
  if (problem !== undefined) {
    // An initial string longer than an explicit capacity is the capacity's fault.
    throw new KeelError(
      'ERR_INVALID_ARGUMENT',
      capacity === undefined
        ? problem
        : `capacity must be at least the initial string's UTF-8 length (${Buffer.byteLength(initial as string)} bytes), got ${capacity}`,
    );
  }
  if (shape !== undefined && layout.kind !== 'typed') {
    throw invalidArgument('shape', 'absent for a value that is not a TypedArray', shape);
  }
  const valueBytes = layoutBytes(layout);
  if (valueBytes * kCopyCount > kMaxSharedBytes) {
    throw invalidArgument(
      'initial',
      `a value whose three copies fit in this machine's memory (${kMaxSharedBytes} bytes)`,
      `${valueBytes} bytes`,
    );
  }
  const defaultShape = layout.kind === 'typed' ? [layout.length] : null;
  const checkedShape =
    shape === undefined || layout.kind !== 'typed' ? defaultShape : checkShape(shape, layout);
  return { layout, shape: checkedShape, valueBytes };
}

/** Validates `changed()`'s options; the wait itself is ChangeWaiters'. */
export function checkChangedOptions(options: ChangedOptions): ChangedOptions {
  checkOptions<ChangedOptions>('options', options, kChangedKeys);
  checkSignal('signal', options.signal);
  checkTimeoutMs('timeoutMs', options.timeoutMs);
  return options;
}

function checkShape(shape: unknown, layout: Extract<LayoutNode, { kind: 'typed' }>): number[] {
  const valid =
    Array.isArray(shape) &&
    shape.every((n) => Number.isSafeInteger(n) && (n as number) >= 0) &&
    shape.reduce((product: number, n: number) => product * n, 1) === layout.length;
  if (!valid)
    throw invalidArgument('shape', `an array of integers whose product is ${layout.length}`, shape);
  return [...(shape as number[])];
}
