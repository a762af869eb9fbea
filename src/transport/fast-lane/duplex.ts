/**
 * The fast lane: a caller (usually the main thread) and one dedicated worker exchange messages
 * through two shared-memory rings (requests, responses) instead of postMessage, and spin
 * briefly instead of sleeping when an answer is due soon. A sleeping thread takes tens of
 * microseconds to wake; a spinning one sees a message in well under a microsecond.
 *
 * Setup: `createFastLane()` on the caller's side returns the caller and a `FastLaneInit` to hand
 * to the worker (in `workerData` or a message, with `transferList: [init.port]`), where
 * `new FastLaneServer(init)` opens the other end. Messages are ordered per direction, whatever
 * path each takes (ring or port, see lane-end.ts). Values cross with structured-clone results.
 *
 * Spin policy (see spin-policy.ts), measured in bench/fast-lane-raw.mjs:
 * - the caller spins at most `spinUs` (default and hard maximum 50 µs: it blocks the caller's
 *   event loop) while recent answers arrived inside that window, then parks in
 *   `Atomics.waitAsync`, so the event loop keeps running;
 * - the worker, after answering, spins up to `spinUs` (default 100 µs) for the next request
 *   while recent requests came that fast, then sleeps in `Atomics.wait`.
 * Neither side ever notifies a peer that is not asleep: a round trip between two spinning
 * sides makes no system call.
 *
 * @example
 * // caller
 * const { caller, serverInit } = createFastLane();
 * const worker = new Worker(url, { workerData: serverInit, transferList: [serverInit.port] });
 * caller.send([1, 'add', 2]);
 * while ((await caller.waitForResponse()) === 'data') { const answer = caller.receive(); ... }
 * // worker
 * const server = new FastLaneServer(workerData);
 * for (;;) {
 *   const request = server.receive();
 *   if (request !== kNoMessage) server.send(handle(request));
 *   else if (server.waitForRequest() === 'closed') break;
 * }
 */

import { MessageChannel, MessagePort } from 'node:worker_threads';
import { invalidArgument } from '../../errors.js';
import {
  LaneEnd,
  kNoMessage,
  portSideRoute,
  type FastLaneRoute,
  type LaneSideRoute,
  type SideEnvelope,
  type FastLaneSendOptions,
  type NoMessage,
} from './lane-end.js';
import { createRingBuffer, kDefaultRingCapacityBytes } from './ring.js';
import { setLongTimeout, type LongTimeout } from '../../timers/long-timeout.js';
import { AdaptiveSpin } from './spin-policy.js';

export {
  kNoMessage,
  type FastLaneRoute,
  type FastLaneSendOptions,
  type LaneSideRoute,
  type NoMessage,
  type SideEnvelope,
};

/** Default and hard maximum of the caller's spin: it blocks the caller's event loop. */
export const kMaxCallerSpinUs = 50;
/** Default spin of the worker before it sleeps. */
export const kDefaultServerSpinUs = 100;
const kMaxServerSpinUs = 1_000_000;

/** How a wait ended: a message to `receive()`, the time limit, or a closed lane (drained). */
export type FastLaneWait = 'data' | 'timeout' | 'closed';

/** What the worker needs to open its end; cloneable, with `port` in the transfer list. */
export interface FastLaneInit {
  readonly requests: SharedArrayBuffer;
  readonly responses: SharedArrayBuffer;
  readonly port: MessagePort;
}

export interface FastLaneOptions {
  /** Data bytes of each ring, a power of two (default 256 KiB; messages up to half go inline). */
  readonly capacityBytes?: number;
  /** The caller's longest spin per wait, in µs, 0..50 (default 50). */
  readonly spinUs?: number;
}

export interface FastLaneServerOptions {
  /** The worker's longest spin for the next request, in µs (default 100). */
  readonly spinUs?: number;
}

export interface FastLaneWaitOptions {
  /** Give up after this long (default: no limit). */
  readonly timeoutMs?: number;
  /** Spin this long instead of what the adaptive policy says (0: sleep at once). */
  readonly spinUs?: number;
  /**
   * Async waits only: keep the thread's event loop alive while parked, like a pending timer
   * (default true). Node 20 itself does not for a pending `Atomics.waitAsync`.
   */
  readonly keepAlive?: boolean;
}

/** Counters of one end. */
export interface FastLaneStats {
  readonly ringSends: number;
  readonly portSends: number;
  /** Sends that used the compact encoding rather than V8's. */
  readonly compactEncodes: number;
  readonly received: number;
  /** Waits answered while spinning, waits whose spin ran out, and sleeps. */
  readonly spinHits: number;
  readonly spinMisses: number;
  readonly sleeps: number;
}

/**
 * Creates a lane. The caller end stays on this thread; `serverInit` goes to the worker.
 * @example const { caller, serverInit } = createFastLane({ capacityBytes: 64 * 1024 });
 */
export function createFastLane<Request = unknown, Response = unknown>(
  options: FastLaneOptions = {},
): { caller: FastLaneCaller<Request, Response>; serverInit: FastLaneInit } {
  const { capacityBytes = kDefaultRingCapacityBytes, spinUs = kMaxCallerSpinUs } = options;
  if (!(spinUs >= 0 && spinUs <= kMaxCallerSpinUs)) {
    throw invalidArgument('spinUs', `a number of microseconds in [0, ${kMaxCallerSpinUs}]`, spinUs);
  }
  const requests = createRingBuffer(capacityBytes);
  const responses = createRingBuffer(capacityBytes);
  const { port1, port2 } = new MessageChannel();
  const caller = new FastLaneCaller<Request, Response>(
    new LaneEnd(requests, responses, portSideRoute(port1)),
    spinUs,
  );
  return { caller, serverInit: { requests, responses, port: port2 } };
}

/** The rings of a lane whose side route is given (a child process's IPC channel). */
export interface RoutedLaneInit {
  readonly requests: SharedArrayBuffer;
  readonly responses: SharedArrayBuffer;
}

/**
 * Creates a lane whose side route is given rather than a new MessageChannel: a child process's
 * lane, its rings from `allocate` (memory the child can map), the IPC channel beside them.
 * The caller end stays here; `init` goes to the other end's `FastLaneServer.overRoute`.
 */
export function createRoutedLane<Request = unknown, Response = unknown>(
  side: LaneSideRoute,
  allocate: (bytes: number) => SharedArrayBuffer,
  options: FastLaneOptions = {},
): { caller: FastLaneCaller<Request, Response>; init: RoutedLaneInit } {
  const { capacityBytes = kDefaultRingCapacityBytes, spinUs = kMaxCallerSpinUs } = options;
  if (!(spinUs >= 0 && spinUs <= kMaxCallerSpinUs)) {
    throw invalidArgument('spinUs', `a number of microseconds in [0, ${kMaxCallerSpinUs}]`, spinUs);
  }
  const requests = createRingBuffer(capacityBytes, allocate);
  const responses = createRingBuffer(capacityBytes, allocate);
  const caller = new FastLaneCaller<Request, Response>(
    new LaneEnd(requests, responses, side),
    spinUs,
  );
  return { caller, init: { requests, responses } };
}

/** Spins because the other end was found awake that may miss in a row before they stop. */
const kMaxPeerAwakeMisses = 2;
/** A worker's probe spins this many times its window (see AdaptiveSpinOptions.probeSpinUs). */
const kServerProbeFactor = 3;

/** The waits of one end: the adaptive spin, then a sleep, counted. For one thread. */
class LaneWaiter {
  readonly #lane: LaneEnd;
  readonly #policy: AdaptiveSpin;
  /** Ceiling of an explicit `spinUs` (the caller's: 50 µs, its event loop's budget). */
  readonly #spinCapUs: number;
  #spinHits = 0;
  #spinMisses = 0;
  #sleeps = 0;
  #peerAwakeMisses = 0;

  constructor(lane: LaneEnd, maxSpinUs: number, spinCapUs: number, probeSpinUs = maxSpinUs) {
    this.#lane = lane;
    this.#spinCapUs = spinCapUs;
    this.#policy = new AdaptiveSpin({ maxSpinUs, probeSpinUs });
  }

  /**
   * The outcome without sleeping (after a spin, when the policy or `spinUs` asks for one).
   *
   * When the policy says sleep but our last message found the other end awake (spinning for
   * it), this wait spins anyway: the answer is likely to come at once. With the worker's
   * longer probes this gets two ends that both stopped spinning (a slow start, a GC pause, a
   * busy core) out of that state, where each would find the other asleep on every message.
   * Two such spins that miss in a row stop it until a spin hits (an end that is awake but slow
   * to answer: a long task).
   */
  spinPhase(spinUs: number | undefined): FastLaneWait | undefined {
    const reader = this.#lane.reader;
    if (reader.ready() || this.#lane.sideWake?.arrived() === true) return this.#outcome(true);
    let budgetUs =
      spinUs === undefined ? this.#policy.budgetUs() : Math.min(spinUs, this.#spinCapUs);
    const peerAwake =
      !(budgetUs > 0) &&
      spinUs === undefined &&
      this.#peerAwakeMisses < kMaxPeerAwakeMisses &&
      this.#lane.peerWasAwake;
    if (peerAwake) budgetUs = this.#policy.maxSpinUs;
    if (!(budgetUs > 0)) return undefined;
    const hit = reader.spinFor(budgetUs);
    if (spinUs === undefined) this.#policy.record(hit);
    if (hit) {
      this.#spinHits++;
      this.#peerAwakeMisses = 0;
    } else {
      this.#spinMisses++;
      if (peerAwake) this.#peerAwakeMisses++;
    }
    return hit ? this.#outcome(true) : undefined;
  }

  /** Sleeps in `Atomics.wait` until an outcome; blocks the thread. */
  sleepSync(timeoutMs: number): FastLaneWait {
    const startMs = performance.now();
    for (;;) {
      // An IPC message arrives only through this thread's event loop, which this wait blocks.
      if (this.#lane.sideInTransit() !== undefined) {
        throw new Error('fast lane: a blocking wait cannot receive over an IPC side route');
      }
      this.#sleeps++;
      const ready = this.#lane.reader.waitSync(startMs + timeoutMs - performance.now());
      const result = this.#outcome(ready);
      if (result !== undefined) return this.#slept(result, startMs);
    }
  }

  /** Parks in `Atomics.waitAsync` until an outcome; the event loop runs meanwhile. */
  async sleepAsync(timeoutMs: number, keepAlive: boolean): Promise<FastLaneWait> {
    const startMs = performance.now();
    for (;;) {
      this.#sleeps++;
      const remainingMs = startMs + timeoutMs - performance.now();
      const inTransit = this.#lane.sideInTransit();
      const ready =
        inTransit === undefined
          ? await this.#lane.reader.waitAsync(remainingMs, {
              keepAlive,
              beside: this.#lane.sideWake,
            })
          : await arrivalWithin(inTransit, remainingMs);
      const result = this.#outcome(ready);
      if (result !== undefined) return this.#slept(result, startMs);
    }
  }

  /** Tells the policy how long a sleep that ended with a message took. */
  #slept(result: FastLaneWait, startMs: number): FastLaneWait {
    if (result === 'data') this.#policy.recordSleep((performance.now() - startMs) * 1000);
    return result;
  }

  /** undefined: ready but nothing to report (a spurious wake-up), wait again. */
  #outcome(ready: boolean): FastLaneWait | undefined {
    if (this.#lane.hasMessage()) return 'data';
    if (this.#lane.closed) return 'closed';
    return ready ? undefined : 'timeout';
  }

  stats(): FastLaneStats {
    const spins = { spinHits: this.#spinHits, spinMisses: this.#spinMisses, sleeps: this.#sleeps };
    return { ...this.#lane.counters, ...spins };
  }
}

/** True once `arrival` settles, false if `timeoutMs` passes first. */
async function arrivalWithin(arrival: Promise<void>, timeoutMs: number): Promise<boolean> {
  if (!Number.isFinite(timeoutMs)) {
    await arrival;
    return true;
  }
  if (!(timeoutMs > 0)) return false;
  let timer: LongTimeout | undefined;
  const expired = new Promise<boolean>((resolve) => {
    timer = setLongTimeout(() => {
      resolve(false);
    }, timeoutMs);
  });
  try {
    return await Promise.race([arrival.then(() => true), expired]);
  } finally {
    timer?.clear();
  }
}

/**
 * What both ends do alike: send, receive, wait without blocking the event loop, close, count.
 * `Out` is what this end sends, `In` what it receives. Use from one thread; one wait at a time.
 */
class FastLaneEnd<Out, In> {
  readonly #lane: LaneEnd;
  protected readonly waiter: LaneWaiter;

  constructor(lane: LaneEnd, spinUs: number, spinCapUs: number, probeSpinUs = spinUs) {
    this.#lane = lane;
    this.waiter = new LaneWaiter(lane, spinUs, spinCapUs, probeSpinUs);
  }

  /** Sends a message (ring or port, ordered either way); never blocks. See `LaneEnd.send`. */
  send(message: Out, options?: FastLaneSendOptions): FastLaneRoute {
    return this.#lane.send(message, options);
  }

  /** Wakes the other end if it sleeps, after sends made with `wake: false`. Never blocks. */
  wakePeer(): void {
    this.#lane.wakePeer();
  }

  /**
   * Calls `receiver` on this thread as soon as a message that went beside the rings (over the
   * port: moved buffers, large values) arrives, before a pending wait settles. A receiver that
   * drains with `receive()` there gets it a few µs sooner; the wait then finds nothing new and
   * parks again.
   */
  onArrivalBeside(receiver: () => void): void {
    this.#lane.onArrivalBeside(receiver);
  }

  /** The next message, or `kNoMessage`. Never blocks. */
  receive(): In | NoMessage {
    return this.#lane.receive() as In | NoMessage;
  }

  /** Wakes both sides' waits for good ('closed' once drained); later sends throw ERR_CLOSED. */
  close(): void {
    this.#lane.close();
  }

  /** True once either end closed the lane. */
  get closed(): boolean {
    return this.#lane.closed;
  }

  /** Counters since creation. */
  stats(): FastLaneStats {
    return this.waiter.stats();
  }

  /**
   * Resolves when a message can be received ('data'), the lane closed and is drained
   * ('closed'), or `timeoutMs` passed ('timeout'). Spins first, synchronously (adaptive: only
   * while recent messages arrived that fast; an explicit `spinUs` is capped), then parks in
   * `Atomics.waitAsync`. Never rejects. A parked wait keeps the thread alive like a timer
   * unless `keepAlive: false`.
   */
  protected async waitAsync(options: FastLaneWaitOptions): Promise<FastLaneWait> {
    const { timeoutMs = Infinity, spinUs, keepAlive = true } = options;
    return this.waiter.spinPhase(spinUs) ?? this.waiter.sleepAsync(timeoutMs, keepAlive);
  }
}

/** The caller's end: sends requests, receives responses; its spin is capped at 50 µs. */
export class FastLaneCaller<Request = unknown, Response = unknown> extends FastLaneEnd<
  Request,
  Response
> {
  /** @internal Use `createFastLane()`. */
  constructor(lane: LaneEnd, spinUs: number) {
    super(lane, spinUs, kMaxCallerSpinUs);
  }

  /** Waits for a response: see `waitAsync`; the spin blocks this event loop for <= 50 µs. */
  waitForResponse(options: FastLaneWaitOptions = {}): Promise<FastLaneWait> {
    return this.waitAsync(options);
  }
}

/**
 * The worker's end: receives requests, sends responses.
 * @example const server = new FastLaneServer(workerData.lane, { spinUs: 100 });
 */
export class FastLaneServer<Request = unknown, Response = unknown> extends FastLaneEnd<
  Response,
  Request
> {
  constructor(init: FastLaneInit, options: FastLaneServerOptions = {}) {
    super(serverEnd(init), ...serverSpins(options));
  }

  /** The other end of `createRoutedLane` (in a child process: over its IPC channel). */
  static overRoute<Request, Response>(
    init: RoutedLaneInit,
    side: LaneSideRoute,
    options: FastLaneServerOptions = {},
  ): FastLaneServer<Request, Response> {
    routedEnd = new LaneEnd(init.responses, init.requests, side);
    return new FastLaneServer<Request, Response>(kRouted, options);
  }

  /**
   * Blocks the thread (event loop included) until a request can be received ('data'), the lane
   * closed and is drained ('closed'), or `timeoutMs` passed ('timeout'): spins first (adaptive,
   * up to the server's `spinUs`, or exactly `spinUs` when given), then sleeps in `Atomics.wait`.
   */
  waitForRequest(options: FastLaneWaitOptions = {}): FastLaneWait {
    const { timeoutMs = Infinity, spinUs } = options;
    return this.waiter.spinPhase(spinUs) ?? this.waiter.sleepSync(timeoutMs);
  }

  /** Like `waitForRequest`, but parks in `Atomics.waitAsync`: the worker's event loop runs. */
  waitForRequestAsync(options: FastLaneWaitOptions = {}): Promise<FastLaneWait> {
    return this.waitAsync(options);
  }
}

/** Set by `FastLaneServer.overRoute` for the one constructor call that adopts its end. */
let routedEnd: LaneEnd | undefined;
const kRouted = {} as FastLaneInit;

function serverEnd(init: FastLaneInit): LaneEnd {
  if (init === kRouted && routedEnd !== undefined) {
    const end = routedEnd;
    routedEnd = undefined;
    return end;
  }
  if (typeof init !== 'object' || init === null || !(init.port instanceof MessagePort)) {
    throw invalidArgument('init', 'the serverInit of createFastLane()', init);
  }
  return new LaneEnd(init.responses, init.requests, portSideRoute(init.port));
}

/** The server's spin settings: its window, its cap, its probe. */
function serverSpins(options: FastLaneServerOptions): [number, number, number] {
  const { spinUs = kDefaultServerSpinUs } = options;
  if (!(spinUs >= 0 && spinUs <= kMaxServerSpinUs)) {
    throw invalidArgument('spinUs', `a number of microseconds in [0, ${kMaxServerSpinUs}]`, spinUs);
  }
  return [spinUs, kMaxServerSpinUs, spinUs * kServerProbeFactor];
}
