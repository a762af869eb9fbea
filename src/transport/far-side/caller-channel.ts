/**
 * The far side's view of its caller: boot data, a way to post, a way to receive and a way to
 * leave. The only worker-side module that touches node:worker_threads or the IPC channel.
 */
import { parentPort, workerData } from 'node:worker_threads';
import {
  FastLaneServer,
  kNoMessage,
  type FastLaneInit,
  type RoutedLaneInit,
} from '../fast-lane/duplex.js';
import { adoptHandedBuffers } from '../handed-buffers.js';
import { IpcSideRoute } from '../ipc-side-route.js';
import { IpcPoller } from '../ipc-poll.js';

export interface CallerChannel<In, Out> {
  readonly bootData: unknown;
  /**
   * Sends a message. `wake: false` (fast lane only; elsewhere ignored) does not wake a caller
   * that sleeps: call `wake()` later, or it sleeps on. `transfer`: buffers to transfer rather
   * than copy (threads; over IPC they are copied).
   */
  post(message: Out, options?: PostOptions): void;
  /** Wakes the caller after posts made with `wake: false`. */
  wake(): void;
  /**
   * Handles every message from the caller, in order. A handler that returns a promise says that
   * the answers to what it received are still being computed (an async function): the fast lane
   * then waits for it before spinning for the next message, because a spin holds this thread's
   * event loop, and with it the very answer the caller waits for.
   */
  onMessage(handler: MessageHandler<In>, options?: ReceiveOptions): void;
  /** Ends this worker or child once what was posted has been handed over. */
  exit(): void;
}

export interface PostOptions {
  readonly wake?: boolean;
  readonly transfer?: readonly ArrayBuffer[] | undefined;
}

export type MessageHandler<In> = (message: In) => PromiseLike<unknown> | undefined;

export interface ReceiveOptions {
  /**
   * Whether the thread may spin for the next message (default true). A role whose own work runs
   * on this thread's event loop between messages (a stream's generator) passes false: its spin
   * would stall that work, and its messages (credits) are never urgent.
   */
  readonly spin?: boolean;
}

/** The channel of a worker thread to the thread that started it (over a fast lane if given one). */
export function threadCallerChannel<In, Out>(): CallerChannel<In, Out> {
  const lane = (workerData as { lane?: FastLaneInit } | undefined)?.lane;
  if (lane) return laneCallerChannel(new FastLaneServer<In, Out>(lane), workerData, exitNow);
  const port = parentPort;
  if (!port) throw new Error('keel: the thread entry must run in a worker thread');
  return {
    bootData: workerData,
    post: (message, options) => {
      port.postMessage(message, options?.transfer);
    },
    wake: () => undefined,
    onMessage: (handler) => {
      port.on('message', (message: In) => {
        void handler(message);
      });
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
function laneCallerChannel<In, Out>(
  server: FastLaneServer<In, Out>,
  bootData: unknown,
  exit: () => void,
): CallerChannel<In, Out> {
  return {
    bootData,
    post: (message, options) => {
      server.send(message, options);
    },
    wake: () => {
      server.wakePeer();
    },
    onMessage: (handler, options = {}) => {
      const spinning = options.spin === false ? kNoSpin : {};
      void (async () => {
        for (;;) {
          let answering: PromiseLike<unknown> | undefined;
          for (let message = server.receive(); message !== kNoMessage; message = server.receive()) {
            answering = handler(message) ?? answering;
          }
          // Work that is still running after this turn of the event loop (I/O, timers) is not
          // waited for: the thread parks without spinning, kept alive by its wait, and the
          // answer goes out whenever the work ends.
          const running = answering !== undefined && !(await settlesThisTurn(answering));
          const waitOptions = running ? kNoSpin : spinning;
          if ((await server.waitForRequestAsync(waitOptions)) === 'closed') return;
        }
      })();
    },
    exit,
  };
}

/** Messages posted before process.exit() in a worker thread are still delivered to its parent. */
function exitNow(): void {
  process.exit(0);
}

const kNoSpin = { spinUs: 0 } as const;
/** How long a child's loop keeps turning for the next message after it sent one. */
const kChildPollUs = 100;

/**
 * True if `work` settles before this turn of the event loop ends (an async function that awaits
 * only promises), false once the loop has moved on (it waits for I/O or a timer). Failures count
 * as settled: they were answered as messages already.
 */
export function settlesThisTurn(work: PromiseLike<unknown>): Promise<boolean> {
  return new Promise((resolve) => {
    const nextTurn = setImmediate(() => {
      resolve(false);
    });
    const settled = () => {
      clearImmediate(nextTurn);
      resolve(true);
    };
    work.then(settled, settled);
  });
}

/**
 * The channel of a child process to its parent. The first message is the boot data. When the
 * parent goes away the IPC channel disconnects and the child ends: no orphans.
 */
export function processCallerChannel<In, Out>(): Promise<CallerChannel<In, Out>> {
  const send = process.send?.bind(process);
  if (!send) return Promise.reject(new Error('keel: the process entry must run in a forked child'));
  process.on('disconnect', () => process.exit(0));
  // After answering, the loop keeps turning a while for the next call (ipc-poll.ts).
  const poller = new IpcPoller(kChildPollUs);
  // Several messages can arrive in one read and are emitted back to back, before any promise
  // continuation runs: everything after the boot data waits here until a handler is attached.
  const early: In[] = [];
  let handle: MessageHandler<In> | undefined;
  let booted: ((bootData: unknown) => void) | undefined;
  process.on('message', (message: unknown) => {
    poller.received();
    if (booted) {
      const resolveBoot = booted;
      booted = undefined;
      resolveBoot(message);
    } else if (handle) void handle(message as In);
    else early.push(message as In);
  });
  return new Promise((resolve, reject) => {
    booted = (data) => {
      let bootData: unknown;
      try {
        // The arena's and the lane's memory, handed over as descriptors at fork.
        bootData = adoptHandedBuffers(data);
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      const lane = (bootData as { lane?: RoutedLaneInit }).lane;
      if (lane) {
        const side = new IpcSideRoute((envelope) => {
          send(envelope);
          poller.sent();
        });
        handle = (message) => {
          if (IpcSideRoute.isEnvelope(message)) side.deliver(message);
          return undefined;
        };
        const server = FastLaneServer.overRoute<In, Out>(lane, side);
        resolve(
          laneCallerChannel(server, bootData, () => {
            sayBye(send);
          }),
        );
        return;
      }
      resolve({
        bootData,
        post: (message) => {
          send(message);
          poller.sent();
        },
        wake: () => undefined,
        onMessage: (handler) => {
          handle = handler;
          for (const message of early.splice(0)) void handler(message);
        },
        exit: () => {
          sayBye(send);
        },
      });
    };
  });
}

/** The last IPC message; the callback runs once everything queued before it was written. */
function sayBye(send: NonNullable<typeof process.send>): void {
  send({ type: 'bye' }, undefined, undefined, () => process.exit(0));
}
