/**
 * Walking a value the way structured cloning does: arrays, plain objects (and class instances,
 * which clone as plain objects), Maps and Sets are containers; everything else is a leaf, passed
 * to a callback. Iterative (a deep value cannot overflow the stack), each object visited once,
 * so cycles and shared references are preserved.
 */

export type ContainerKind = 'array' | 'map' | 'set' | 'object';

/** The container kind of an object, or null for a leaf (binary, Date, RegExp, Error, ...). */
export function containerKind(value: object): ContainerKind | null {
  if (Array.isArray(value)) return 'array';
  if (value instanceof Map) return 'map';
  if (value instanceof Set) return 'set';
  if (typeof value === 'function' || ArrayBuffer.isView(value)) return null;
  const prototype = Object.getPrototypeOf(value) as unknown;
  if (prototype === Object.prototype || prototype === null) return 'object';
  // Class instances clone as plain objects; built-ins (Date, Error, Promise...) carry their tag.
  return Object.prototype.toString.call(value) === '[object Object]' ? 'object' : null;
}

/** Calls `visitLeaf` once for every non-container object reachable from `root`. */
export function forEachLeafObject(root: unknown, visitLeaf: (leaf: object) => void): void {
  if (typeof root !== 'object' || root === null) return;
  const seen = new Set<object>([root]);
  const stack: object[] = [root];
  const push = (child: unknown): void => {
    if (typeof child === 'object' && child !== null && !seen.has(child)) {
      seen.add(child);
      stack.push(child);
    }
  };
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const kind = containerKind(next);
    if (kind === null) visitLeaf(next);
    else forEachChild(next, kind, push);
  }
}

function forEachChild(
  container: object,
  kind: ContainerKind,
  push: (child: unknown) => void,
): void {
  if (kind === 'array') {
    const array = container as unknown[];
    for (let index = 0; index < array.length; index++) push(array[index]);
  } else if (kind === 'map') {
    for (const [key, entry] of container as Map<unknown, unknown>) {
      push(key);
      push(entry);
    }
  } else if (kind === 'set') {
    for (const member of container as Set<unknown>) push(member);
  } else {
    const record = container as Record<string, unknown>;
    for (const key of Object.keys(record)) push(record[key]);
  }
}

/** A copied container graph and where replaced values were placed. */
export interface CopiedGraph {
  readonly root: unknown;
  /** Flat pairs (container, key) whose value satisfied `isPlaceholder`. */
  readonly slots: unknown[];
  /** Maps and Sets holding a placeholder as a key or member: rebuilt in order on restore. */
  readonly rebuild: (Map<unknown, unknown> | Set<unknown>)[];
}

/**
 * Copies every container reachable from `root`; each leaf object is replaced by
 * `replaceLeaf(leaf)` (once per leaf: a shared leaf stays shared).
 */
export function copyGraph(
  root: unknown,
  replaceLeaf: (leaf: object) => unknown,
  isPlaceholder: (value: unknown) => boolean = () => false,
): CopiedGraph {
  const memo = new Map<object, unknown>();
  const pending: [object, object, ContainerKind][] = [];
  const copyOf = (value: unknown): unknown => {
    if (typeof value !== 'object' || value === null) return value;
    if (memo.has(value)) return memo.get(value);
    const kind = containerKind(value);
    const copy = kind === null ? replaceLeaf(value) : emptyContainer(value, kind);
    memo.set(value, copy);
    if (kind !== null) pending.push([value, copy as object, kind]);
    return copy;
  };
  const graph: CopiedGraph = { root: copyOf(root), slots: [], rebuild: [] };
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    fillContainer(next[0], next[1], next[2], copyOf, isPlaceholder, graph);
  }
  return graph;
}

function emptyContainer(value: object, kind: ContainerKind): object {
  if (kind === 'array') return new Array<unknown>((value as unknown[]).length);
  if (kind === 'map') return new Map<unknown, unknown>();
  if (kind === 'set') return new Set<unknown>();
  return {};
}

function fillContainer(
  source: object,
  copy: object,
  kind: ContainerKind,
  copyOf: (value: unknown) => unknown,
  isPlaceholder: (value: unknown) => boolean,
  graph: CopiedGraph,
): void {
  if (kind === 'map' || kind === 'set') {
    fillCollection(source, copy, kind, copyOf, isPlaceholder, graph);
    return;
  }
  if (kind === 'array') {
    fillArray(source as unknown[], copy as unknown[], copyOf, isPlaceholder, graph);
    return;
  }
  copyProperties(
    source as Record<string, unknown>,
    copy,
    Object.keys(source),
    copyOf,
    isPlaceholder,
    graph,
  );
}

/** Copies the own properties `keys` of `from` into `into` ('__proto__' stays an own property). */
function copyProperties(
  from: Record<string, unknown>,
  copy: object,
  keys: readonly string[],
  copyOf: (value: unknown) => unknown,
  isPlaceholder: (value: unknown) => boolean,
  graph: CopiedGraph,
): void {
  const into = copy as Record<string, unknown>;
  for (const key of keys) {
    const value = copyOf(from[key]);
    if (key === '__proto__') {
      Object.defineProperty(into, key, {
        value,
        writable: true,
        enumerable: true,
        configurable: true,
      });
    } else {
      into[key] = value;
    }
    if (isPlaceholder(value)) graph.slots.push(into, key);
  }
}

/** Present indexes only: holes stay holes, as in cloning; named properties are kept too. */
function fillArray(
  from: unknown[],
  into: unknown[],
  copyOf: (value: unknown) => unknown,
  isPlaceholder: (value: unknown) => boolean,
  graph: CopiedGraph,
): void {
  let present = 0;
  for (let index = 0; index < from.length; index++) {
    if (!(index in from)) continue;
    present++;
    const value = copyOf(from[index]);
    into[index] = value;
    if (isPlaceholder(value)) graph.slots.push(into, index);
  }
  const keys = Object.keys(from);
  if (keys.length === present) return;
  const named = keys.filter((key) => !isArrayIndex(key));
  copyProperties(
    from as unknown as Record<string, unknown>,
    into,
    named,
    copyOf,
    isPlaceholder,
    graph,
  );
}

/** True for a key that names an element of an array ('0', '17'), not a property ('01', 'x'). */
export function isArrayIndex(key: string): boolean {
  const index = Number(key);
  return Number.isInteger(index) && index >= 0 && index < 2 ** 32 - 1 && String(index) === key;
}

function fillCollection(
  source: object,
  copy: object,
  kind: 'map' | 'set',
  copyOf: (value: unknown) => unknown,
  isPlaceholder: (value: unknown) => boolean,
  graph: CopiedGraph,
): void {
  let holdsPlaceholder = false;
  if (kind === 'map') {
    const into = copy as Map<unknown, unknown>;
    for (const [key, entry] of source as Map<unknown, unknown>) {
      const keyCopy = copyOf(key);
      const entryCopy = copyOf(entry);
      into.set(keyCopy, entryCopy);
      holdsPlaceholder ||= isPlaceholder(keyCopy) || isPlaceholder(entryCopy);
    }
  } else {
    const into = copy as Set<unknown>;
    for (const member of source as Set<unknown>) {
      const memberCopy = copyOf(member);
      into.add(memberCopy);
      holdsPlaceholder ||= isPlaceholder(memberCopy);
    }
  }
  if (holdsPlaceholder) graph.rebuild.push(copy as Map<unknown, unknown> | Set<unknown>);
}
