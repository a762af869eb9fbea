/**
 * The process-wide name registry of SharedObject slots (name -> SharedArrayBuffer), as
 * SharedObject sees it: register, look up, remove. Each thread asks its own backend: on the
 * main thread the registry itself; in a keel worker, the link to the main thread's registry
 * that transport/registry-link.ts installs at boot. Both sides; the only node:worker_threads
 * use here is reading `isMainThread`.
 */
import { isMainThread } from 'node:worker_threads';
import { KeelError } from '../../errors.js';
import { markSlotUnlinked } from './layout.js';

/** What a thread's registry does; every method may block in a worker (a request to the main thread). */
export interface RegistryBackend {
  /** Registers `buffer` under `name` unless taken; returns the slot holding it when taken. */
  register(name: string, buffer: SharedArrayBuffer): SharedArrayBuffer | undefined;
  lookup(name: string): SharedArrayBuffer | undefined;
  /** Removes the name, marks its slot unlinked, and returns it. */
  remove(name: string): SharedArrayBuffer | undefined;
  /** Every name and slot; only the registry itself (main thread) can answer. */
  list?(): [string, SharedArrayBuffer][];
}

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
  list(): [string, SharedArrayBuffer][] {
    return [...this.#slots];
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

// The registry of this thread, kept on globalThis so that two copies of keel loaded in one
// process (two paths to the package, bundled and not) still share one set of names. The key
// names the slot layout version: copies with incompatible layouts keep apart.
const kBackendKey = Symbol.for('keel.shared-object.registry.v1');
const threadGlobal = globalThis as { [kBackendKey]?: RegistryBackend };
if (isMainThread) threadGlobal[kBackendKey] ??= new LocalRegistry();

/** This thread's registry; throws ERR_NOT_FOUND in a worker that was not linked to it. */
export function threadRegistry(): RegistryBackend {
  const backend = threadGlobal[kBackendKey];
  if (backend !== undefined) return backend;
  throw new KeelError(
    'ERR_NOT_FOUND',
    'the SharedObject registry is not reachable from this worker: keel links the workers it starts; ' +
      'a worker started with new Worker() must get createRegistryLink().data in its workerData and ' +
      'call connectRegistryLink() (a handle passed to it as a value works without the registry)',
  );
}

/** Worker threads: makes `backend` (a link to the main thread's registry) this thread's registry. */
export function setThreadRegistry(backend: RegistryBackend): void {
  threadGlobal[kBackendKey] = backend;
}

/** Registers a new slot under `name`; returns the slot already holding the name, if any. May block (worker). */
export function registerSlot(
  name: string,
  buffer: SharedArrayBuffer,
): SharedArrayBuffer | undefined {
  return threadRegistry().register(name, buffer);
}

/** The slot registered under `name`, if any. May block (worker, cache miss). */
export function lookupSlot(name: string): SharedArrayBuffer | undefined {
  return threadRegistry().lookup(name);
}

/** Removes `name` and marks its slot unlinked; returns the slot, if there was one. May block (worker). */
export function removeSlot(name: string): SharedArrayBuffer | undefined {
  return threadRegistry().remove(name);
}

/** The process-scope names and slots, where this thread can see them all (main thread); else none. */
export function listSlots(): [string, SharedArrayBuffer][] {
  return threadGlobal[kBackendKey]?.list?.() ?? [];
}
