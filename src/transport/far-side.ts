/**
 * The far side's view of its caller: boot data, a way to post, a way to receive and a way to
 * leave. The only worker-side module that touches node:worker_threads or the IPC channel.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { FastLaneServer, kNoMessage, type FastLaneInit } from './fast-lane/duplex.js';

export interface CallerChannel<In, Out> {
  readonly bootData: unknown;
  /**
   * Sends a message. `wake: false` (fast lane only; elsewhere ignored) does not wake a caller
   * that sleeps: call `wake()` later, or it sleeps on.
   */
  post(message: Out, options?: { readonly wake?: boolean }): void;
  /** Wakes the caller after posts made with `wake: false`. */
  wake(): void;
  onMessage(handler: (message: In) => void): void;
  /** Ends this worker or child once what was posted has been handed over. */
  exit(): void;
}

/** The channel of a worker thread to the thread that started it (over a fast lane if given one). */
export function threadCallerChannel<In, Out>(): CallerChannel<In, Out> {
  const lane = (workerData as { lane?: FastLaneInit } | undefined)?.lane;
  if (lane) return laneCallerChannel(lane);
  const port = parentPort;
  if (!port) throw new Error('keel: the thread entry must run in a worker thread');
  return {
    bootData: workerData,
    post: (message) => {
      port.postMessage(message);
    },
    wake: () => undefined,
    onMessage: (handler) => {
      port.on('message', handler);
    },
    // Messages posted before process.exit() in a worker are still delivered to the parent.
    exit: () => process.exit(0),
  };
}

/**
 * The far end of a fast lane. Between requests the thread spins briefly (adaptive, at most
 * 100 µs), then parks in Atomics.waitAsync so that its event loop keeps running: an object's
 * timers and async methods work as in any worker.
 */
function laneCallerChannel<In, Out>(init: FastLaneInit): CallerChannel<In, Out> {
  const server = new FastLaneServer<In, Out>(init);
  return {
    bootData: workerData,
    post: (message, options) => {
      server.send(message, options);
    },
    wake: () => {
      server.wakePeer();
    },
    onMessage: (handler) => {
      void (async () => {
        for (;;) {
          for (let message = server.receive(); message !== kNoMessage; message = server.receive()) {
            handler(message);
          }
          if ((await server.waitForRequestAsync()) === 'closed') return;
        }
      })();
    },
    exit: () => process.exit(0),
  };
}

/**
 * The channel of a child process to its parent. The first message is the boot data. When the
 * parent goes away the IPC channel disconnects and the child ends: no orphans.
 */
export function processCallerChannel<In, Out>(): Promise<CallerChannel<In, Out>> {
  const send = process.send?.bind(process);
  if (!send) return Promise.reject(new Error('keel: the process entry must run in a forked child'));
  process.on('disconnect', () => process.exit(0));
  // Several messages can arrive in one read and are emitted back to back, before any promise
  // continuation runs: everything after the boot data waits here until a handler is attached.
  const early: In[] = [];
  let handle: ((message: In) => void) | undefined;
  let booted: ((bootData: unknown) => void) | undefined;
  process.on('message', (message: unknown) => {
    if (booted) {
      const resolveBoot = booted;
      booted = undefined;
      resolveBoot(message);
    } else if (handle) handle(message as In);
    else early.push(message as In);
  });
  return new Promise((resolve) => {
    booted = (bootData) => {
      resolve({
        bootData,
        post: (message) => {
          send(message);
        },
        wake: () => undefined,
        onMessage: (handler) => {
          handle = handler;
          for (const message of early.splice(0)) handler(message);
        },
        exit: () => {
          // The callback runs once everything queued before this message was written.
          send({ type: 'bye' }, undefined, undefined, () => process.exit(0));
        },
      });
    };
  });
}
