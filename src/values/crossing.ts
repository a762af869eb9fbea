/**
 * Finds why a value cannot cross a thread or process boundary. Used only after the platform's
 * serializer refused a value, so the happy path pays nothing for it.
 */
import { KeelError, describeValue } from '../errors.js';

const kUncloneableTags = new Set([
  '[object Promise]',
  '[object WeakMap]',
  '[object WeakSet]',
  '[object WeakRef]',
  '[object FinalizationRegistry]',
  '[object Generator]',
  '[object AsyncGenerator]',
]);

/** The first leaf structured cloning refuses, and its path (`args[1].model.forward`). */
export interface UncloneableLeaf {
  readonly path: string;
  readonly leaf: unknown;
}

/** Finds the first leaf of `value` that structured cloning refuses, if any. */
export function findUncloneable(value: unknown, rootPath: string): UncloneableLeaf | undefined {
  return walk(value, rootPath, new Set());
}

function walk(value: unknown, path: string, seen: Set<object>): UncloneableLeaf | undefined {
  if (typeof value === 'function' || typeof value === 'symbol') return { path, leaf: value };
  if (typeof value !== 'object' || value === null) return undefined;
  if (seen.has(value)) return undefined;
  seen.add(value);
  const tag = Object.prototype.toString.call(value);
  if (kUncloneableTags.has(tag)) return { path, leaf: value };
  if (
    ArrayBuffer.isView(value) ||
    value instanceof ArrayBuffer ||
    value instanceof SharedArrayBuffer
  ) {
    return undefined;
  }
  if (value instanceof Date || value instanceof RegExp) return undefined;
  if (value instanceof Map) return walkMap(value, path, seen);
  if (value instanceof Set)
    return walkEntries([...value], (index) => `${path}<Set item ${index}>`, seen);
  if (Array.isArray(value)) return walkEntries(value, (index) => `${path}[${index}]`, seen);
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    const found = walk(record[key], `${path}${propertyAccess(key)}`, seen);
    if (found !== undefined) return found;
  }
  return undefined;
}

function walkMap(
  map: Map<unknown, unknown>,
  path: string,
  seen: Set<object>,
): UncloneableLeaf | undefined {
  let index = 0;
  for (const [key, entry] of map) {
    const keyPath = walk(key, `${path}<Map key ${index}>`, seen);
    if (keyPath !== undefined) return keyPath;
    const label =
      typeof key === 'string' || typeof key === 'number' ? JSON.stringify(key) : `<key ${index}>`;
    const entryPath = walk(entry, `${path}.get(${label})`, seen);
    if (entryPath !== undefined) return entryPath;
    index++;
  }
  return undefined;
}

function walkEntries(
  entries: readonly unknown[],
  pathOf: (index: number) => string,
  seen: Set<object>,
): UncloneableLeaf | undefined {
  for (let index = 0; index < entries.length; index++) {
    const found = walk(entries[index], pathOf(index), seen);
    if (found !== undefined) return found;
  }
  return undefined;
}

function propertyAccess(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/** True for the error a platform serializer throws on an uncloneable value. */
export function isCloneFailure(error: unknown): boolean {
  return (
    error instanceof Error &&
    (error.name === 'DataCloneError' || /could not be cloned/.test(error.message))
  );
}

/**
 * The `ERR_NOT_CLONEABLE` error for a value the serializer refused; `rootPath` names the value
 * at the call site (`args`, `result`).
 */
export function notCloneableError(value: unknown, rootPath: string, cause: unknown): KeelError {
  const found = findUncloneable(value, rootPath);
  const path = found?.path ?? rootPath;
  const what = found ? describeValue(found.leaf) : 'a value that structured cloning refuses';
  return new KeelError(
    'ERR_NOT_CLONEABLE',
    `${path} cannot cross to another thread: it is ${what} ` +
      '(values cross by structured cloning; functions, symbols, promises and weak collections cannot)',
    { cause },
  );
}
