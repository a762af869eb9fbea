/**
 * The far side of `iterateInWorker`: calls the named export once, then sends what the iterable
 * it returned yields, one message per item, never more than `buffer` items ahead of the
 * consumer (the generator is paused, not run ahead). A `stop` from the caller ends the
 * generator with `return()`, so its `finally` runs here. The end of the iteration, its failure
 * or a stop is reported once, and the worker exits.
 */
import { KeelError, describeValue, serializeError } from '../errors.js';
import { isCloneFailure, notCloneableError } from '../values/crossing.js';
import type {
  FromStreamWorker,
  StartStreamMessage,
  StreamStoppedMessage,
  ToStreamWorker,
} from '../protocol/stream-messages.js';
import type { CallerChannel } from '../transport/far-side/caller-channel.js';
import { discardPacked, handOver, packForCallerWaiting, receivedArgs } from './boot-context.js';
import { pickExport, type ModuleLoader } from './module-loader.js';
import { creditGate, type CreditGate } from './stream-credits.js';

type StreamChannel = CallerChannel<ToStreamWorker, FromStreamWorker>;

/** Arguments cross once: always look for SharedObject handles in them. */
const kArgsMarks = { handles: true } as const;
/**
 * How long an item may wait for a wake-up of the caller that it shares with later items.
 * Waking a sleeping thread costs both threads CPU (tens of microseconds on a small VM, see
 * docs/streams.md); sharing one among the items of a fast stream is most of what keeps a
 * frame's cost to the caller low. It must stay well under a frame period of a camera (16 ms)
 * so that a slow stream's item is never held back noticeably.
 */
const kSharedWakeLimitMs = 0.25;

export function serveStream(channel: StreamChannel, loader: ModuleLoader): void {
  let run: StreamRun | undefined;
  channel.onMessage(
    (message) => {
      if (message.type === 'start-stream') {
        run = new StreamRun(message, channel);
        void run.serve(loader);
      } else if (message.type === 'credit') run?.credit(message.taken);
      else run?.stop();
    },
    { spin: false },
  );
}

/** The generator, seen the way `for await` sees it. */
interface ItemSource {
  next(): Promise<IteratorResult<unknown>>;
  /** Ends the generator early (its `finally` runs); rejects if that threw. */
  close(): Promise<void>;
}

/** An item that could not be packed or posted: the generator is then closed like a loop's break. */
class SendFailure extends Error {
  constructor(cause: unknown) {
    super('an item could not be sent', { cause });
  }
}

class StreamRun {
  readonly #start: StartStreamMessage;
  readonly #channel: StreamChannel;
  readonly #gate: CreditGate;
  readonly #stopping = new AbortController();
  readonly #wakes: WakePolicy;

  constructor(start: StartStreamMessage, channel: StreamChannel) {
    this.#start = start;
    this.#channel = channel;
    this.#gate = creditGate(start.buffer, start.credits);
    this.#wakes = new WakePolicy(channel);
  }

  credit(taken: number): void {
    this.#gate.credit(taken);
  }

  stop(): void {
    if (this.#stopping.signal.aborted) return;
    this.#stopping.abort();
    this.#gate.interrupt();
  }

  async serve(loader: ModuleLoader): Promise<void> {
    let source: ItemSource | undefined;
    let report: FromStreamWorker;
    try {
      source = await openSource(loader, this.#start);
      const outcome = await this.#produce(source);
      report = outcome === 'end' ? { type: 'end' } : await closeSource(source);
    } catch (error) {
      if (error instanceof SendFailure) {
        await closeSource(source);
        report = { type: 'error', error: serializeError(error.cause) };
      } else {
        report = { type: 'error', error: serializeError(error) };
      }
    }
    try {
      this.#channel.post(report);
    } finally {
      // Also when the caller is gone and the post failed: nothing is left to do here.
      this.#channel.exit();
    }
  }

  /** Sends items while the consumer has room for them; 'stop' once it asked to stop. */
  async #produce(source: ItemSource): Promise<'end' | 'stop'> {
    const stopping = this.#stopping.signal;
    for (let sent = 0; ; sent++) {
      if (!this.#gate.hasRoom(sent)) {
        this.#wakes.flush(); // the caller must see what is sent before it can make room
        if (!(await this.#gate.waitForRoom(sent))) return 'stop';
      }
      if (stopping.aborted) return 'stop';
      this.#wakes.producing();
      const step = await source.next();
      if (step.done) return 'end';
      // An item made while the consumer left is dropped; the generator is closed.
      if (stopping.aborted || !(await this.#send(step.value, sent))) return 'stop';
    }
  }

  /** Packs (waiting for arena room) and posts item `sent`; false when a stop interrupted it. */
  async #send(value: unknown, sent: number): Promise<boolean> {
    const signal = this.#stopping.signal;
    let packed: Awaited<ReturnType<typeof packForCallerWaiting>>;
    try {
      packed = await packForCallerWaiting(value, { signal });
    } catch (error) {
      if (signal.aborted) return false;
      throw new SendFailure(error);
    }
    try {
      // With at most one more item to go before the buffer is full, the caller must start
      // taking now, or this thread would soon wait for it.
      const wake = this.#wakes.wakeFor(!this.#gate.hasRoom(sent + 2));
      const item = { type: 'item', value: packed.value, ...packed.marks } as const;
      this.#channel.post(item, { wake, transfer: packed.transfer });
      this.#wakes.sent(wake);
    } catch (error) {
      discardPacked(packed);
      throw new SendFailure(
        isCloneFailure(error) ? notCloneableError(value, 'item', error) : error,
      );
    }
    handOver(value, packed); // a yielded item is given away, as a transferred buffer is
    return true;
  }
}

/**
 * When an item's message wakes a caller that sleeps waiting for it (a caller that is awake
 * reads it anyway, and costs nothing to "wake"). An item wakes it unless the next one is
 * expected soon enough (from how long the last two took to make) that the oldest item not yet
 * woken for would still be woken within kSharedWakeLimitMs, and the buffer has room for two
 * more: a fast stream pays one wake-up per few items, a slow one (a camera at 60 Hz) one per
 * item, at once. The first item always wakes.
 * Whatever was sent unwoken is woken before this thread waits for anything: for room in the
 * buffer (`flush`), or for a timer, I/O or arena space (a setImmediate runs then). Only a
 * generator that turns slow inside synchronous code delays the items before it, by as long.
 */
class WakePolicy {
  readonly #channel: StreamChannel;
  #startedMs = 0;
  #lastMakeMs = Infinity;
  #unwoken = 0;
  #oldestUnwokenMs = 0;
  #flushQueued = false;

  constructor(channel: StreamChannel) {
    this.#channel = channel;
  }

  /** The generator is asked for the next item now. */
  producing(): void {
    this.#startedMs = performance.now();
  }

  /** Whether the item about to be posted wakes the caller (always when the buffer is `nearlyFull`). */
  wakeFor(nearlyFull: boolean): boolean {
    const nowMs = performance.now();
    const makeMs = nowMs - this.#startedMs;
    const expectedNextMs = Math.max(makeMs, this.#lastMakeMs);
    this.#lastMakeMs = makeMs;
    const oldestMs = this.#unwoken === 0 ? nowMs : this.#oldestUnwokenMs;
    return nearlyFull || nowMs + expectedNextMs - oldestMs >= kSharedWakeLimitMs;
  }

  /** The item was posted, waking the caller or not. */
  sent(woke: boolean): void {
    if (woke) {
      this.#unwoken = 0;
      return;
    }
    if (this.#unwoken++ === 0) this.#oldestUnwokenMs = performance.now();
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    setImmediate(() => {
      this.#flushQueued = false;
      this.flush();
    });
  }

  /** Wakes the caller for what was sent unwoken. */
  flush(): void {
    if (this.#unwoken === 0) return;
    this.#unwoken = 0;
    this.#channel.wake();
  }
}

async function openSource(loader: ModuleLoader, start: StartStreamMessage): Promise<ItemSource> {
  const namespace = await loader.loadModule(start.module);
  const fn = pickExport(namespace, start.module, start.name);
  let iterable = fn(...receivedArgs(start.args, kArgsMarks));
  // A function may also resolve to an iterable (an async function returning an array).
  if (isThenable(iterable)) iterable = await iterable;
  return sourceOf(iterable, start);
}

function sourceOf(iterable: unknown, start: StartStreamMessage): ItemSource {
  const target = iterable as Partial<AsyncIterable<unknown> & Iterable<unknown>> | null;
  const asyncMethod = target?.[Symbol.asyncIterator];
  if (typeof asyncMethod === 'function') {
    const iterator = asyncMethod.call(target);
    return {
      next: () => Promise.resolve(iterator.next()),
      close: async () => {
        await iterator.return?.();
      },
    };
  }
  const syncMethod = target?.[Symbol.iterator];
  if (typeof syncMethod === 'function') return syncSource(syncMethod.call(target));
  throw new KeelError(
    'ERR_INVALID_ARGUMENT',
    `export '${start.name}' of ${start.module} returned ${describeValue(iterable)}, not an ` +
      'iterable: iterateInWorker needs a generator function (sync or async) or a function ' +
      'that returns an iterable or async iterable',
  );
}

/**
 * A sync iterator as `for await` reads it: a yielded promise is awaited; when it rejects, the
 * iterator is closed (its `finally` runs) and the rejection is the stream's error.
 */
function syncSource(iterator: Iterator<unknown>): ItemSource {
  return {
    next: async () => {
      const step = iterator.next();
      if (step.done || !isThenable(step.value)) return step;
      try {
        return { done: false, value: await step.value };
      } catch (error) {
        iterator.return?.();
        throw error;
      }
    },
    close: () =>
      Promise.resolve().then(() => {
        iterator.return?.();
      }),
  };
}

/** Ends the generator after a stop; reports whether its `return()` threw. */
async function closeSource(source: ItemSource | undefined): Promise<StreamStoppedMessage> {
  try {
    await source?.close();
    return { type: 'stopped' };
  } catch (error) {
    return { type: 'stopped', error: serializeError(error) };
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
