/**
 * One end of a fast lane: an outgoing ring, an incoming ring and a MessagePort for what the
 * rings cannot carry, merged into one ordered stream per direction.
 *
 * A message takes the port when it is larger than the ring's `maxMessageBytes`, when the ring
 * is full, when it must stay shared (a SharedArrayBuffer or a view of one, two views of one
 * buffer: postMessage keeps that, V8's serializer does not), when V8 refuses it (postMessage
 * then throws the platform's DataCloneError) or when the sender transfers buffers. Ordering: the port message carries the number of ring
 * frames the sender had written before it (`[framesBefore, value]`), and after posting it the
 * sender bumps the ring's out-of-band counter (which also wakes a sleeping receiver). The
 * receiver delivers that port message exactly when it has read `framesBefore` ring frames.
 * Unlike a marker frame in the ring, this needs no ring space, so a full ring cannot hold a
 * port message back and the port cannot overtake the ring.
 *
 * Why the receiver never misses a due port message: it peeks the ring *before* it loads the
 * out-of-band counter. The sender posts, then bumps the counter, then writes later frames; so a
 * receiver that sees a later frame also sees the bump, and `receiveMessageOnPort` finds the
 * message, because Node's `postMessage` queues it on the receiving port before returning.
 *
 * Waking: a port message wakes the receiving thread's event loop by itself (Node signals the
 * port's handle whether or not anything listens). So the port has a listener, and a receiver
 * parked in an async wait ends it when a message arrives there; its sender does not notify it
 * through the ring as well (ring.ts `announceOutOfBand`, sleep-flag.ts). The listener keeps
 * what it got, in order, ahead of what is still queued on the port; such a message may be
 * taken before the sender's announcement is visible. A message sent with `wake: false` is
 * marked and does not end a wait: the sender wakes the receiver later (`wakePeer`).
 */

import { receiveMessageOnPort, type MessagePort, type Transferable } from 'node:worker_threads';
import { KeelError } from '../../errors.js';
import { MessageDecoder, MessageEncoder } from './message-encoding.js';
import { RingReader, RingWriter } from './ring.js';
import type { SideWake } from './sleep-flag.js';

/** What `receive()` returns when no message is waiting (`undefined` is a valid message). */
export const kNoMessage: unique symbol = Symbol('keel.fastLane.noMessage');
export type NoMessage = typeof kNoMessage;

/** Which path a sent message took. */
export type FastLaneRoute = 'ring' | 'port';

export interface FastLaneSendOptions {
  /** Buffers or ports to transfer; the message then always travels over the port. */
  readonly transfer?: readonly Transferable[] | undefined;
  /**
   * False: publish without waking a sleeping receiver (default true). The sender must call
   * `wakePeer()` later; until then a sleeping receiver does not see the message. Lets a
   * sender that produces several messages in quick succession pay for one wake-up.
   */
  readonly wake?: boolean;
}

/** Counters of one end, for statistics and tests. */
export interface LaneCounters {
  ringSends: number;
  portSends: number;
  compactEncodes: number;
  received: number;
}

/** A message that went beside the ring, with the number of ring frames sent before it. */
export type SideEnvelope = readonly [framesBefore: number, value: unknown];
type PortEnvelope = SideEnvelope;

/**
 * The route beside the rings: a MessagePort between threads (`portSideRoute`), the IPC channel
 * to a child process (transport/ipc-side-route.ts). Both keep order; they differ in when an
 * announced message can be taken: a port's is queued before `postMessage` returns, an IPC
 * message is on its way until the receiving event loop has read it.
 */
export interface LaneSideRoute {
  /**
   * Sends an envelope; throws the platform's error for a value that cannot cross. `wake`
   * false: its arrival must not end the receiver's wait (`wake` below).
   */
  post(envelope: SideEnvelope, transfer?: readonly Transferable[], wake?: boolean): void;
  /** The next envelope if it has arrived, else undefined. Never blocks. */
  take(): SideEnvelope | undefined;
  /** False when an announced envelope can always be taken at once (a port). */
  readonly arrivesLater: boolean;
  /** A promise that settles when the next envelope arrives or the route closes. */
  arrival(): Promise<void>;
  /**
   * A port's listened envelopes: present when an arrival wakes this thread's event loop and can
   * end its async wait (`LaneEnd.sideWake`, `LaneEnd.onArrivalBeside`).
   */
  readonly inbox?: PortInbox | undefined;
  close(): void;
}

/** The third element of a port envelope sent with `wake: false`. */
const kDeferredWake = 0;

/**
 * The side route between two threads: a MessagePort, read with `receiveMessageOnPort`, and
 * listened to so that an arrival can end an async wait (see the file comment). The listener
 * does not keep the thread alive.
 */
export function portSideRoute(port: MessagePort): LaneSideRoute {
  const inbox = new PortInbox();
  port.on('message', (envelope: SideEnvelope) => {
    inbox.add(envelope);
  });
  port.unref();
  return {
    post: (envelope, transfer, wake = true) => {
      port.postMessage(wake ? envelope : [envelope[0], envelope[1], kDeferredWake], transfer);
    },
    // What the listener got is older than what is still queued on the port.
    take: () => inbox.take() ?? (receiveMessageOnPort(port)?.message as SideEnvelope | undefined),
    arrivesLater: false,
    arrival: () => Promise.resolve(),
    inbox,
    close: () => {
      port.close();
    },
  };
}

/** The envelopes a port's listener received, and the wait that one of them may end. */
export class PortInbox implements SideWake {
  readonly #envelopes: SideEnvelope[] = [];
  #head = 0;
  /** Listened envelopes not yet taken that were sent with a wake. */
  #waking = 0;
  #settle: (() => void) | undefined;
  /** Called on each waking arrival, before a parked wait hears of it (`LaneEnd.onArrivalBeside`). */
  onArrival: (() => void) | undefined;

  add(envelope: SideEnvelope): void {
    this.#envelopes.push(envelope);
    if (envelope.length > 2) return;
    this.#waking++;
    this.onArrival?.();
    const settle = this.#settle;
    this.#settle = undefined;
    settle?.();
  }

  take(): SideEnvelope | undefined {
    if (this.#head === this.#envelopes.length) return undefined;
    const envelope = this.#envelopes[this.#head]!;
    this.#envelopes[this.#head++] = undefined as unknown as SideEnvelope;
    if (this.#head === this.#envelopes.length) {
      this.#envelopes.length = 0;
      this.#head = 0;
    }
    if (envelope.length <= 2) this.#waking--;
    return envelope;
  }

  arrived(): boolean {
    return this.#waking > 0;
  }

  arrival(): Promise<void> {
    if (this.#waking > 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.#settle = resolve;
    });
  }
}

/** Internal: the send/receive half shared by `FastLaneCaller` and `FastLaneServer`. */
export class LaneEnd {
  readonly #writer: RingWriter;
  readonly #reader: RingReader;
  readonly #side: LaneSideRoute;
  readonly #encoder = new MessageEncoder();
  readonly #decoder: MessageDecoder;
  #framesWritten = 0;
  #framesRead = 0;
  #portHead: PortEnvelope | undefined;
  #closed = false;
  readonly counters: LaneCounters = { ringSends: 0, portSends: 0, compactEncodes: 0, received: 0 };

  constructor(outgoing: SharedArrayBuffer, incoming: SharedArrayBuffer, side: LaneSideRoute) {
    this.#writer = new RingWriter(outgoing);
    this.#reader = new RingReader(incoming);
    this.#decoder = new MessageDecoder(incoming);
    this.#side = side;
  }

  /** The incoming ring, for the waiting policies. */
  get reader(): RingReader {
    return this.#reader;
  }

  /** Whether the last message sent found the other end awake (spinning for it). */
  get peerWasAwake(): boolean {
    return this.#writer.consumerWasAwake;
  }

  /**
   * Sends one message, through the ring when it fits, else over the port (see the file
   * comment); never blocks. Throws `ERR_CLOSED` after either end closed, and the platform's
   * `DataCloneError` for a value that cannot cross (nothing is sent then).
   */
  send(value: unknown, options?: FastLaneSendOptions): FastLaneRoute {
    if (this.#closed || this.#writer.closed) {
      throw new KeelError('ERR_CLOSED', 'the fast lane is closed');
    }
    const transfer = options?.transfer;
    const wake = options?.wake ?? true;
    if ((transfer === undefined || transfer.length === 0) && !this.#tooBigForRing(value)) {
      const byteLength = this.#encodeOrFail(value);
      if (byteLength >= 0 && this.#writer.tryWrite(this.#encoder.encodedBytes, byteLength, wake)) {
        this.#framesWritten++;
        this.counters.ringSends++;
        return 'ring';
      }
    }
    const envelope: PortEnvelope = [this.#framesWritten, value];
    this.#side.post(envelope, transfer, wake);
    this.#writer.announceOutOfBand(wake);
    this.counters.portSends++;
    return 'port';
  }

  /**
   * True when `value` surely does not fit a ring frame: its binary leaves near the top (three
   * levels: a result, an argument list, an object of them) already hold more bytes than a frame
   * takes. Encoding it first only to find that out was a second copy of every large clone (a
   * 1.2 MB result: one serialization for the ring, another for the port), and garbage the
   * sender's next allocation paid for in page faults.
   */
  #tooBigForRing(value: unknown): boolean {
    return binaryBytesNear(value, 3) > this.#writer.maxMessageBytes;
  }

  /** The encoded length, or -1 when V8 refused the value (postMessage may still carry it). */
  #encodeOrFail(value: unknown): number {
    try {
      const byteLength = this.#encoder.encode(value);
      if (this.#encoder.lastKind === 'compact') this.counters.compactEncodes++;
      return byteLength;
    } catch {
      return -1;
    }
  }

  /**
   * The next message in send order, or `kNoMessage`. Never blocks; allocates only the value
   * (and, for port messages, what `receiveMessageOnPort` allocates).
   */
  receive(): unknown {
    let payloadBytes = this.#reader.peek(); // before the out-of-band check: see the file comment
    if (this.#portHead === undefined && this.#sideWaiting()) {
      // Still on its way (IPC): later ring frames wait behind it, as the order requires.
      if (!this.#takeFromSide()) return kNoMessage;
      if (payloadBytes < 0) payloadBytes = this.#reader.peek();
    }
    const head = this.#portHead;
    if (head !== undefined && head[0] === this.#framesRead) {
      this.#portHead = undefined;
      this.counters.received++;
      return head[1];
    }
    if (payloadBytes < 0) return kNoMessage;
    try {
      return this.#decoder.decode(this.#reader.payloadOffset, payloadBytes);
    } finally {
      this.#reader.release();
      this.#framesRead++;
      this.counters.received++;
    }
  }

  /**
   * An announced side message, or one that the port's listener received (possibly before the
   * sender's announcement is visible: taking it then is safe, its envelope says where it goes).
   */
  #sideWaiting(): boolean {
    return this.#reader.outOfBandPending() > 0 || this.#side.inbox?.arrived() === true;
  }

  /** False while an announced side message is still on its way (only an IPC route). */
  #takeFromSide(): boolean {
    const received = this.#side.take();
    if (received === undefined) {
      if (this.#reader.closed) {
        // A closed channel can lose an announced message: nothing more will come.
        this.#reader.takeOutOfBand();
        return true;
      }
      if (this.#side.arrivesLater) return false;
      throw new Error('fast lane: an announced port message is missing');
    }
    this.#reader.takeOutOfBand();
    this.#portHead = received;
    return true;
  }

  /**
   * A promise that settles when the side message the next `receive()` needs arrives, or
   * undefined when none is on its way. A waiter awaits it instead of the ring's sleep flag,
   * which stays raised while an announced message has not been taken.
   */
  sideInTransit(): Promise<void> | undefined {
    if (this.#portHead !== undefined || this.#reader.outOfBandPending() <= 0) return undefined;
    if (this.#reader.closed || !this.#side.arrivesLater) return undefined;
    return this.#side.arrival();
  }

  /** Wakes the receiver if it sleeps: after sends made with `wake: false`. Never blocks. */
  wakePeer(): void {
    this.#writer.wakeConsumer();
  }

  /**
   * Calls `receiver` on this thread whenever a message that wakes arrives over the port, as
   * its event loop hands it over, before a parked wait hears of it: a receiver that drains the
   * lane there skips the wait's promise chain (a few µs of a moved result's return leg).
   * Re-entrancy is not an issue: the port's listener runs as its own task of the event loop.
   * No effect on a side route without a listener (a child's IPC channel).
   */
  onArrivalBeside(receiver: () => void): void {
    if (this.#side.inbox) this.#side.inbox.onArrival = receiver;
  }

  /**
   * What ends an async wait beside the ring (a listened port's arrivals), or undefined when
   * only the ring's notify does.
   */
  get sideWake(): SideWake | undefined {
    return this.#side.inbox;
  }

  /** True when `receive()` would return a message now. Never blocks. */
  hasMessage(): boolean {
    if (this.#portHead !== undefined && this.#portHead[0] === this.#framesRead) return true;
    if (this.#portHead === undefined && this.#sideWaiting()) {
      // A port's message is there already; an IPC message may still be on its way.
      return this.#reader.closed || !this.#side.arrivesLater || this.#takeFromSide();
    }
    return this.#reader.peek() >= 0;
  }

  /** True once either end closed the lane. */
  get closed(): boolean {
    return this.#closed || this.#reader.closed || this.#writer.closed;
  }

  /**
   * Closes both rings (waking both sides' waits, which then report 'closed' once drained) and
   * this side's port. What this side sent before stays receivable by the other side, over the
   * ring and the port alike (Node keeps messages queued at a port whose peer closed); what this
   * side had not yet received over the port is dropped. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#writer.close();
    this.#reader.close();
    this.#side.close();
  }
}

/** Bytes of the binary leaves of `value` within `depth` levels (arrays and plain objects). */
function binaryBytesNear(value: unknown, depth: number): number {
  if (typeof value !== 'object' || value === null) return 0;
  if (ArrayBuffer.isView(value)) return value.byteLength;
  if (value instanceof ArrayBuffer || value instanceof SharedArrayBuffer) return value.byteLength;
  if (depth === 0) return 0;
  let total = 0;
  if (Array.isArray(value)) {
    for (const item of value) total += binaryBytesNear(item, depth - 1);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const key in value)
      total += binaryBytesNear((value as Record<string, unknown>)[key], depth - 1);
  }
  return total;
}
