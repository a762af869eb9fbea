/**
 * A worker thread reached through a fast lane (two shared-memory rings, see fast-lane/): calls
 * and answers cross in microseconds instead of a postMessage wake-up each way. The thread's own
 * port is kept for its exit; every message after boot goes through the lane.
 *
 * Receiving: a pump drains the lane while work is pending. It starts when a call is sent, so its
 * first wait begins with the lane's adaptive spin (an answer due within ~50 µs is picked up
 * without sleeping), and it stops when the last answer is in, so an idle remote neither spins
 * nor parks a waiter. The pump never keeps the process alive by itself: the Worker handle does,
 * while `ref()`ed (Node 20 does not count a pending Atomics.waitAsync, nodejs/node#61941).
 */
import { createFastLane, kNoMessage, type FastLaneCaller } from '../fast-lane/duplex.js';
import type { EndpointHandlers, WorkerEndpoint } from './endpoint.js';
import { startThread, type ThreadOptions } from './thread.js';

export interface LaneThreadOptions extends ThreadOptions {
  /**
   * How long this thread may spin for a message before it parks, in µs (0..50, default 50;
   * adaptive, see fast-lane/spin-policy.ts). A stream whose items wait in a buffer gains
   * nothing from spinning: 0 keeps the caller's CPU for its own work.
   */
  readonly callerSpinUs?: number;
}

export function startLaneThread<In, Out>(
  options: LaneThreadOptions,
  handlers: EndpointHandlers<In>,
): WorkerEndpoint<Out> {
  const { callerSpinUs, ...threadOptions } = options;
  const { caller, serverInit } = createFastLane<Out, In>(
    callerSpinUs === undefined ? {} : { spinUs: callerSpinUs },
  );
  const drain = () => {
    for (let message = caller.receive(); message !== kNoMessage; message = caller.receive()) {
      handlers.onMessage(message);
    }
  };
  let thread: WorkerEndpoint<never>;
  try {
    thread = startThread<never, never>(
      {
        ...threadOptions,
        bootData: { ...(threadOptions.bootData as object), lane: serverInit },
        transferList: [serverInit.port],
      },
      {
        onMessage: () => undefined,
        onExit: (exit) => {
          drain();
          caller.close();
          handlers.onExit(exit);
        },
      },
    );
  } catch (error) {
    // No thread: the lane has no other end. startThread's ERR_START_FAILED goes on unchanged,
    // for the pool, spawn and iterateInWorker to report as is.
    caller.close();
    throw error;
  }
  const pump = new LanePump(caller, drain);
  pump.want(true);
  // A moved result arrives over the lane's port: handle it as the port delivers it.
  caller.onArrivalBeside(drain);
  return {
    id: thread.id,
    post: (message, transfer) => {
      caller.send(message, transfer === undefined ? undefined : { transfer });
    },
    ref: () => {
      thread.ref();
      pump.want(true);
    },
    unref: () => {
      thread.unref();
      pump.want(false);
    },
    terminate: () => thread.terminate(),
    receivePending: drain,
  };
}

/** Drains a lane's caller end while wanted (also a child process's lane: process.ts). */
export class LanePump {
  readonly #caller: FastLaneCaller;
  readonly #drain: () => void;
  #wanted = false;
  #running = false;

  constructor(caller: FastLaneCaller, drain: () => void) {
    this.#caller = caller;
    this.#drain = drain;
  }

  want(wanted: boolean): void {
    this.#wanted = wanted;
    if (wanted && !this.#running) void this.#run();
  }

  async #run(): Promise<void> {
    this.#running = true;
    try {
      while (this.#wanted && !this.#caller.closed) {
        const outcome = await this.#caller.waitForResponse({ keepAlive: false });
        this.#drain();
        if (outcome === 'closed') return;
      }
    } finally {
      this.#running = false;
    }
  }
}
