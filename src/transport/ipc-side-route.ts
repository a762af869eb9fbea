/**
 * A fast lane's side route over a child process's IPC channel (fast-lane/lane-end.ts): what the
 * rings cannot carry (a message larger than half a ring, a full ring, a value the lane's
 * encoder refuses) goes as an IPC message, and the lane keeps the order. Unlike a MessagePort,
 * an IPC message is read only by the receiving event loop: until then it is "on its way", and
 * the lane's waiter awaits `arrival()` instead of the ring. Shared by both sides.
 */
import type { LaneSideRoute, SideEnvelope } from './fast-lane/duplex.js';

export class IpcSideRoute implements LaneSideRoute {
  readonly arrivesLater = true;
  readonly #send: (envelope: SideEnvelope) => void;
  readonly #arrived: SideEnvelope[] = [];
  #wakeWaiters: (() => void) | undefined;
  #arrival: Promise<void> | undefined;
  #closed = false;

  /** `send` posts one IPC message (`child.send` or `process.send`). */
  constructor(send: (envelope: SideEnvelope) => void) {
    this.#send = send;
  }

  /** True for what `deliver` takes: the envelopes of this route among a channel's messages. */
  static isEnvelope(message: unknown): message is SideEnvelope {
    return Array.isArray(message) && message.length === 2 && typeof message[0] === 'number';
  }

  /** Transfer lists do not apply: an IPC message is always a copy. */
  post(envelope: SideEnvelope): void {
    this.#send(envelope);
  }

  /** The channel's 'message' handler hands each envelope here, in order. */
  deliver(envelope: SideEnvelope): void {
    this.#arrived.push(envelope);
    this.#settle();
  }

  take(): SideEnvelope | undefined {
    return this.#arrived.shift();
  }

  arrival(): Promise<void> {
    if (this.#arrived.length > 0 || this.#closed) return Promise.resolve();
    this.#arrival ??= new Promise((resolve) => {
      this.#wakeWaiters = resolve;
    });
    return this.#arrival;
  }

  /** Ends every wait for an arrival; what arrived stays takeable. */
  close(): void {
    this.#closed = true;
    this.#settle();
  }

  #settle(): void {
    const wake = this.#wakeWaiters;
    this.#wakeWaiters = undefined;
    this.#arrival = undefined;
    wake?.();
  }
}
