/**
 * How a stream worker knows it may send its next item: fewer than `buffer` items it sent are
 * untaken by the consumer. A thread reads the consumer's count in shared memory
 * (transport/credit-window.ts); a child process gets it in `credit` messages.
 */
import { CreditWindowProducer } from '../transport/credit-window.js';

export interface CreditGate {
  /** True when item number `sent` (0-based) may be sent now. Never blocks. */
  hasRoom(sent: number): boolean;
  /** Resolves true once item number `sent` may be sent, false once interrupted. */
  waitForRoom(sent: number): Promise<boolean>;
  /** A `credit` message: the consumer has taken `taken` items in all. */
  credit(taken: number): void;
  /** The consumer stopped: every wait, now and later, resolves false. */
  interrupt(): void;
}

/** The gate for a start message: shared memory when the caller sent some, else messages. */
export function creditGate(buffer: number, memory: SharedArrayBuffer | undefined): CreditGate {
  return memory === undefined ? new MessageCredits(buffer) : new SharedCredits(memory, buffer);
}

class SharedCredits implements CreditGate {
  readonly #window: CreditWindowProducer;

  constructor(memory: SharedArrayBuffer, buffer: number) {
    this.#window = new CreditWindowProducer(memory, buffer);
  }

  hasRoom(sent: number): boolean {
    return this.#window.hasRoom(sent);
  }

  waitForRoom(sent: number): Promise<boolean> {
    return this.#window.waitForRoom(sent);
  }

  credit(): void {
    // Threads count in shared memory; a message carries nothing new.
  }

  interrupt(): void {
    this.#window.interrupt();
  }
}

class MessageCredits implements CreditGate {
  readonly #buffer: number;
  #taken = 0;
  #interrupted = false;
  #wake: (() => void) | undefined;

  constructor(buffer: number) {
    this.#buffer = buffer;
  }

  hasRoom(sent: number): boolean {
    return sent - this.#taken < this.#buffer;
  }

  async waitForRoom(sent: number): Promise<boolean> {
    while (!this.#interrupted && !this.hasRoom(sent)) {
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
    return !this.#interrupted;
  }

  credit(taken: number): void {
    this.#taken = Math.max(this.#taken, taken);
    this.#wakeWaiter();
  }

  interrupt(): void {
    this.#interrupted = true;
    this.#wakeWaiter();
  }

  #wakeWaiter(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
