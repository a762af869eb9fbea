/**
 * The link that lets a worker thread reach the SharedObject name registry of the main thread
 * (memory/shared-object/name-registry.ts) synchronously. Both sides: createRegistryLink where a
 * thread is started, connectRegistryLink in the thread at boot.
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
import { isSlotUnlinked } from '../memory/shared-object/layout.js';
import {
  setThreadRegistry,
  threadRegistry,
  type RegistryBackend,
} from '../memory/shared-object/name-registry.js';
import type {
  RegistryLinkData,
  RegistryRequest,
  RegistryResponse,
} from '../protocol/registry-messages.js';
import { waitWord, wakeWord } from '../platform/wait-word.js';

const kDefaultRequestTimeoutMs = 5000;

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
      waitWord(this.#signal, 0, answers, remainingMs);
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

function answer(request: RegistryRequest): RegistryResponse {
  let buffer: SharedArrayBuffer | undefined;
  try {
    const registry = threadRegistry();
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
    wakeWord(answers, 0);
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
  setThreadRegistry(new LinkedRegistry(data));
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
