/**
 * Worker threads: the only caller-side module that touches node:worker_threads.
 */
import { MessagePort, Worker, type ResourceLimits, type Transferable } from 'node:worker_threads';
import { KeelError } from '../../errors.js';
import type { EndpointHandlers, WorkerEndpoint } from './endpoint.js';
import { createRegistryLink } from '../registry-link.js';
import { inheritsInputType } from '../../options/worker-exec-argv.js';

const kThreadEntry = new URL('../../worker/thread-entry.js', import.meta.url);
/**
 * The same entry, imported by an inline module. A thread that inherits `--input-type` (a caller
 * started as `node --input-type=module -e ...`) refuses a *file* as its main module
 * (ERR_INPUT_TYPE_NOT_ALLOWED); a `data:` URL main is evaluated as a module and may import it.
 */
const kThreadEntryByImport = new URL(
  `data:text/javascript,${encodeURIComponent(`import ${JSON.stringify(kThreadEntry.href)};`)}`,
);

/** The main module of a thread started with `execArgv` (undefined: the caller's, inherited). */
function threadEntry(execArgv: readonly string[] | undefined): URL {
  return execArgv === undefined && inheritsInputType() ? kThreadEntryByImport : kThreadEntry;
}

export interface ThreadOptions {
  readonly bootData: unknown;
  readonly resourceLimits?: ResourceLimits | undefined;
  readonly env?: Readonly<Record<string, string | undefined>> | undefined;
  readonly execArgv?: readonly string[] | undefined;
  readonly name?: string | undefined;
  /** Objects in bootData to transfer rather than clone (MessagePorts). */
  readonly transferList?: readonly Transferable[] | undefined;
}

export type { ResourceLimits };

/**
 * Starts a keel worker thread. Messages posted before it booted are queued by the platform.
 * Throws `KeelError` ERR_START_FAILED, Node's error as `cause`, when Node refuses to start the
 * thread at all (`new Worker` throws: a flag a thread cannot take, ERR_WORKER_INVALID_EXEC_ARGV;
 * no memory for another thread). Pool, spawn, iterateInWorker and RealtimeLoop.inWorker rely
 * on that code. A thread that starts and then fails reports it as its exit.
 */
export function startThread<In, Out>(
  options: ThreadOptions,
  handlers: EndpointHandlers<In>,
): WorkerEndpoint<Out> {
  // Every keel thread can open SharedObjects by name: it gets a link to the name registry.
  const registry = createRegistryLink();
  const transferList = [...(options.transferList ?? []), ...registry.transferList];
  let worker: Worker;
  try {
    worker = new Worker(threadEntry(options.execArgv), {
      workerData: { ...(options.bootData as object), registry: registry.data },
      ...(options.resourceLimits ? { resourceLimits: options.resourceLimits } : {}),
      ...(options.env ? { env: withCallersNativeChoice(options.env) } : {}),
      ...(options.execArgv ? { execArgv: [...options.execArgv] } : {}),
      ...(options.name ? { name: options.name } : {}),
      transferList,
    });
  } catch (error) {
    // The ports meant for the thread were never transferred: closing them closes their other
    // ends (the registry link, a fast lane), which would otherwise wait for a thread for ever.
    for (const item of transferList) if (item instanceof MessagePort) item.close();
    throw new KeelError(
      'ERR_START_FAILED',
      `the worker thread could not be started: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  let uncaught: unknown;
  worker.on('message', (message: In) => {
    handlers.onMessage(message);
  });
  // An uncaught exception in the worker arrives here (with Node's own serialization, which keeps
  // `code`), just before 'exit'.
  worker.on('error', (error) => {
    uncaught = error;
  });
  worker.on('exit', (code) => {
    handlers.onExit({ code, signal: null, error: uncaught });
  });
  return {
    id: worker.threadId,
    post: (message) => {
      worker.postMessage(message);
    },
    ref: () => {
      worker.ref();
    },
    unref: () => {
      worker.unref();
    },
    terminate: async () => {
      await worker.terminate();
    },
  };
}

/**
 * A thread's own `env`, with the caller's `KEEL_NATIVE` and `KEEL_NATIVE_ADDON` whatever it
 * says: every thread of a process must wait and wake on shared words the same way, with the
 * addon's futex or with `Atomics` (platform/wait-word.ts), and each thread reads those two
 * variables when it loads keel.
 */
function withCallersNativeChoice(
  env: Readonly<Record<string, string | undefined>>,
): Record<string, string | undefined> {
  const { KEEL_NATIVE: _native, KEEL_NATIVE_ADDON: _addon, ...own } = env;
  const { KEEL_NATIVE, KEEL_NATIVE_ADDON } = process.env;
  return {
    ...own,
    ...(KEEL_NATIVE === undefined ? {} : { KEEL_NATIVE }),
    ...(KEEL_NATIVE_ADDON === undefined ? {} : { KEEL_NATIVE_ADDON }),
  };
}
