/**
 * The process-wide name registry of SharedObject slots (name -> SharedArrayBuffer), and the
 * link that lets a worker thread reach it synchronously. The only SharedObject file that touches
 * node:worker_threads.
 *
 * The registry lives on the main thread. A keel worker gets, at boot, one end of a
 * MessageChannel and a shared signal word (createRegistryLink on the parent side,
 * connectRegistryLink in the worker). A worker's request is a message; the worker then sleeps in
 * Atomics.wait on the signal word (with a timeout) until the main thread's event loop has
 * answered, and reads the answer with receiveMessageOnPort. Answers carry the request id, so an
 * answer that arrives after its request timed out is recognised and dropped.
 */
import {
  MessageChannel,
  isMainThread,
  receiveMessageOnPort,
  type MessagePort,
  type Transferable,
} from 'node:worker_threads';
import { KeelError, invalidArgument } from '../errors.js';
import { isSlotUnlinked, markSlotUnlinked } from '../memory/shared-object/layout.js';

/** What a worker asks the main thread. */
type RegistryRequest =
  | {
      readonly type: 'register';
      readonly id: number;
      readonly name: string;
      readonly buffer: SharedArrayBuffer;
    }
  | { readonly type: 'lookup'; readonly id: number; readonly name: string }
  | { readonly type: 'remove'; readonly id: number; readonly name: string };

/**
 * The answer. `buffer` is, for register: the slot already holding the name (null when the new
 * one was registered); for lookup: the slot (null when missing); for remove: the removed slot.
 */
interface RegistryResponse {
  readonly type: 'registry-response';
  readonly id: number;
  readonly buffer: SharedArrayBuffer | null;
}

/** The boot data a worker receives (inside workerData). */
interface RegistryLinkData {
  readonly kind: 'keel.registry-link';
  readonly port: MessagePort;
  /** Int32 word 0 counts the answers posted on the port; the worker sleeps on it. */
  readonly signal: SharedArrayBuffer;
  readonly requestTimeoutMs: number;
}

interface RegistryBackend {
  /** Registers `buffer` under `name` unless taken; returns the slot holding it when taken. */
  register(name: string, buffer: SharedArrayBuffer): SharedArrayBuffer | undefined;
  lookup(name: string): SharedArrayBuffer | undefined;
  /** Removes the name, marks its slot unlinked, and returns it. */
  remove(name: string): SharedArrayBuffer | undefined;
}

const kDefaultRequestTimeoutMs = 5000;

/** The registry itself: main thread only. */
class LocalRegistry implements RegistryBackend {
  readonly #slots = new Map<string, SharedArrayBuffer>();

  register(name: string, buffer: SharedArrayBuffer): SharedArrayBuffer | undefined {
    const existing = this.#slots.get(name);
    if (existing === undefined) this.#slots.set(name, buffer);
    return existing;
  }
  lookup(name: string): SharedArrayBuffer | undefined {
    return this.#slots.get(name);
  }
  remove(name: string): SharedArrayBuffer | undefined {
    const buffer = this.#slots.get(name);
    if (buffer === undefined) return undefined;
    this.#slots.delete(name);
    // Before answering: a worker's cached copy of this name is dropped from now on.
    markSlotUnlinked(buffer);
    return buffer;
  }
}

/** A worker's view of the registry: synchronous requests to the main thread, plus a cache. */
class LinkedRegistry implements RegistryBackend {
  readonly #port: MessagePort;
  readonly #signal: Int32Array;
  readonly #requestTimeoutMs: number;
  // Weak: the cache must not keep an unlinked slot's memory alive.
  readonly #cache = new Map<string, WeakRef<SharedArrayBuffer>>();
  #nextId = 0;

  constructor(data: RegistryLinkData) {
    this.#port = data.port;
    this.#signal = new Int32Array(data.signal);
    this.#requestTimeoutMs = data.requestTimeoutMs;
    this.#port.unref();
  }

  register(name: string, buffer: SharedArrayBuffer): SharedArrayBuffer | undefined {
    const existing = this.#request({ type: 'register', id: 0, name, buffer });
    this.#cache.set(name, new WeakRef(existing ?? buffer));
    return existing;
  }
  lookup(name: string): SharedArrayBuffer | undefined {
    const cached = this.#cache.get(name)?.deref();
    if (cached !== undefined && !isSlotUnlinked(cached)) return cached;
    this.#cache.delete(name);
    const buffer = this.#request({ type: 'lookup', id: 0, name });
    if (buffer !== undefined) this.#cache.set(name, new WeakRef(buffer));
    return buffer;
  }
  remove(name: string): SharedArrayBuffer | undefined {
    this.#cache.delete(name);
    return this.#request({ type: 'remove', id: 0, name });
  }

  /** Posts a request and blocks this worker until the main thread answers, or times out. */
  #request(request: RegistryRequest): SharedArrayBuffer | undefined {
    const id = ++this.#nextId;
    let answers = Atomics.load(this.#signal, 0);
    this.#port.postMessage({ ...request, id });
    const deadlineMs = performance.now() + this.#requestTimeoutMs;
    for (;;) {
      const response = this.#takeResponse(id);
      if (response !== undefined) return response.buffer ?? undefined;
      const remainingMs = deadlineMs - performance.now();
      if (remainingMs <= 0) {
        throw new KeelError(
          'ERR_TIMEOUT',
          `SharedObject registry: the main thread did not answer "${request.type}" of "${request.name}" ` +
            `within ${this.#requestTimeoutMs} ms (its event loop is blocked or waits on this worker)`,
        );
      }
      Atomics.wait(this.#signal, 0, answers, remainingMs);
      answers = Atomics.load(this.#signal, 0);
    }
  }

  /** The answer to request `id`, dropping answers to earlier requests that timed out. */
  #takeResponse(id: number): RegistryResponse | undefined {
    for (;;) {
      const received = receiveMessageOnPort(this.#port);
      if (received === undefined) return undefined;
      const response = received.message as RegistryResponse;
      if (response.id === id) return response;
    }
  }
}

// The registry of this thread, kept on globalThis so that two copies of keel loaded in one
// process (two paths to the package, bundled and not) still share one set of names. The key
// names the slot layout version: copies with incompatible layouts keep apart.
const kBackendKey = Symbol.for('keel.shared-object.registry.v1');
const threadGlobal = globalThis as { [kBackendKey]?: RegistryBackend };
if (isMainThread) threadGlobal[kBackendKey] ??= new LocalRegistry();

function requireBackend(): RegistryBackend {
  const backend = threadGlobal[kBackendKey];
  if (backend !== undefined) return backend;
  throw new KeelError(
    'ERR_NOT_FOUND',
    'the SharedObject registry is not reachable from this worker: keel links the workers it starts; ' +
      'a worker started with new Worker() must get createRegistryLink().data in its workerData and ' +
      'call connectRegistryLink() (a handle passed to it as a value works without the registry)',
  );
}

/** Registers a new slot under `name`; returns the slot already holding the name, if any. May block (worker). */
export function registerSlot(
  name: string,
  buffer: SharedArrayBuffer,
): SharedArrayBuffer | undefined {
  return requireBackend().register(name, buffer);
}

/** The slot registered under `name`, if any. May block (worker, cache miss). */
export function lookupSlot(name: string): SharedArrayBuffer | undefined {
  return requireBackend().lookup(name);
}

/** Removes `name` and marks its slot unlinked; returns the slot, if there was one. May block (worker). */
export function removeSlot(name: string): SharedArrayBuffer | undefined {
  return requireBackend().remove(name);
}

function answer(request: RegistryRequest): RegistryResponse {
  let buffer: SharedArrayBuffer | undefined;
  try {
    const registry = requireBackend();
    if (request.type === 'register') buffer = registry.register(request.name, request.buffer);
    else if (request.type === 'lookup') buffer = registry.lookup(request.name);
    else buffer = registry.remove(request.name);
  } catch {
    // A nested worker whose own link timed out: answer "missing" rather than never.
    buffer = undefined;
  }
  return { type: 'registry-response', id: request.id, buffer: buffer ?? null };
}

/**
 * Parent side, called when keel starts a worker: the link's boot data (put it in workerData) and
 * the ports to transfer. Works on the main thread and, for nested workers, in a linked worker
 * (which then forwards to the main thread). The parent's port never keeps the process alive.
 *
 * @example
 * const link = createRegistryLink();
 * new Worker(entry, { workerData: { registry: link.data }, transferList: link.transferList });
 */
export function createRegistryLink(options: { requestTimeoutMs?: number } = {}): {
  data: unknown;
  transferList: Transferable[];
} {
  const requestTimeoutMs = options.requestTimeoutMs ?? kDefaultRequestTimeoutMs;
  if (!(typeof requestTimeoutMs === 'number' && requestTimeoutMs > 0)) {
    throw invalidArgument('requestTimeoutMs', 'a number > 0', requestTimeoutMs);
  }
  const { port1, port2 } = new MessageChannel();
  const signal = new SharedArrayBuffer(4);
  const answers = new Int32Array(signal);
  port1.on('message', (request: RegistryRequest) => {
    port1.postMessage(answer(request));
    // The answer is queued on the worker's port by now; this wakes the worker to read it.
    Atomics.add(answers, 0, 1);
    Atomics.notify(answers, 0);
  });
  port1.once('close', () => {
    port1.removeAllListeners('message');
  });
  // Idle links must not keep the process alive: a worker that asks is alive and keeps it so.
  port1.unref();
  const data: RegistryLinkData = {
    kind: 'keel.registry-link',
    port: port2,
    signal,
    requestTimeoutMs,
  };
  return { data, transferList: [port2] };
}

/** Worker side, called once by keel's worker entry at boot with the data of createRegistryLink(). */
export function connectRegistryLink(data: unknown): void {
  if (isMainThread)
    throw new KeelError('ERR_INVALID_ARGUMENT', 'connectRegistryLink() is for worker threads');
  if (!isLinkData(data))
    throw invalidArgument('registry link data', 'the data of createRegistryLink()', data);
  threadGlobal[kBackendKey] = new LinkedRegistry(data);
}

function isLinkData(data: unknown): data is RegistryLinkData {
  const candidate = data as Partial<RegistryLinkData> | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    candidate.kind === 'keel.registry-link' &&
    candidate.signal instanceof SharedArrayBuffer &&
    typeof candidate.requestTimeoutMs === 'number' &&
    typeof candidate.port?.postMessage === 'function'
  );
}
